"""The bank's own settings, beyond every RP's (:mod:`rp_examples.common.config`).

==========================  ==================================================================
RP_BANK_DATA_DIR            where its SQLite file (customers, transfers, events) and its push
                            secret live (default ``var/rp_bank``)
RP_BANK_LIMIT               yen: a transfer above it is approved with the card's signature
                            (default 100000)
RP_BANK_JPKI_CA_DIR         a folder of the J-LIS signing CAs' certificates (PEM): the card's
                            certificate must be issued by one of them (``idp demo`` points it
                            at the instance's ``trust/sign``); unset, the bank says it did not
                            check the issuer
RP_BANK_STEP_UP_MAX_AGE     seconds: a large transfer follows a login this recent (default 300)
RP_BANK_EVENTS              ``0`` to leave its Shared Signals stream alone (default ``1``)
==========================  ==================================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from rp_examples.bank.transfers import DEFAULT_LIMIT


@dataclass(frozen=True)
class BankSettings:
    data_dir: Path = Path("var/rp_bank")
    limit: int = DEFAULT_LIMIT
    jpki_ca_dir: Path | None = None
    step_up_max_age: int = 300
    events: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BankSettings:
        env = os.environ if env is None else env
        ca_dir = env.get("RP_BANK_JPKI_CA_DIR")
        return cls(data_dir=Path(env.get("RP_BANK_DATA_DIR") or "var/rp_bank"),
                   limit=int(env.get("RP_BANK_LIMIT") or DEFAULT_LIMIT),
                   jpki_ca_dir=Path(ca_dir) if ca_dir else None,
                   step_up_max_age=int(env.get("RP_BANK_STEP_UP_MAX_AGE") or 300),
                   events=(env.get("RP_BANK_EVENTS") or "1").strip().lower()
                   not in ("0", "false", "no", "off"))

    def trusted_cas(self) -> list[x509.Certificate]:
        """The J-LIS signing CAs the card's certificate must come from (none: not checked)."""
        if self.jpki_ca_dir is None:
            return []
        return [x509.load_pem_x509_certificate(path.read_bytes())
                for path in sorted(self.jpki_ca_dir.glob("*.pem"))]
