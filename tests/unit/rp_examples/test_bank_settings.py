"""The bank's own settings come from RP_BANK_* variables, with safe defaults."""

from __future__ import annotations

from pathlib import Path

from idp.jpki.profile import Purpose
from rp_examples.bank.settings import BankSettings
from tests.support.jpki_pki import ca


def test_defaults_and_overrides() -> None:
    assert BankSettings.from_env({}) == BankSettings()
    assert BankSettings().limit == 100_000
    made = BankSettings.from_env({"RP_BANK_DATA_DIR": "/tmp/b", "RP_BANK_LIMIT": "5000",
                                  "RP_BANK_STEP_UP_MAX_AGE": "60", "RP_BANK_EVENTS": "0",
                                  "RP_BANK_JPKI_CA_DIR": "/tmp/cas"})
    assert made == BankSettings(Path("/tmp/b"), 5000, Path("/tmp/cas"), 60, events=False)


def test_the_signing_cas_are_read_from_pem_files(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    certificate = ca(Purpose.SIGN).certificate
    (tmp_path / "jpki-sim-1.pem").write_bytes(certificate.public_bytes(Encoding.PEM))
    assert BankSettings(jpki_ca_dir=tmp_path).trusted_cas() == [certificate]
    assert BankSettings().trusted_cas() == []
