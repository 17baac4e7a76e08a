"""The platform's health on the admin home page: J-LIS, CRLs, signing keys, delivery backlogs.

- J-LIS: is it reachable now (one cheap call through the breakers, the CA list) and the state
  of this process's breaker per J-LIS service (closed: calls go through; open: failing fast).
- CRLs: for each CRL index in the cache, its CA (from the trust anchors), ``thisUpdate``,
  ``nextUpdate`` and age; ``stale`` once past ``nextUpdate``.
- Signing keys: when each key was made and retired (``idp keys rotate``).
- Backlogs: back-channel logout tokens and Security Event Tokens still owed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from idp.admin.record import Recorder
from idp.admin.roles import Actor, Permission
from idp.admin.schemas import Health
from idp.errors import IdpError
from idp.events.models import PENDING as EVENT_PENDING
from idp.events.models import SecurityEvent
from idp.jpki.errors import JpkiError
from idp.jpki.revocation.crl import anchor_key_id
from idp.jpki.revocation.crl_index import CrlIndex
from idp.oidc.outbox_models import PENDING as LOGOUT_PENDING
from idp.oidc.outbox_models import LogoutDelivery
from idp.trustpolicy.service import TrustPolicyService


@dataclass(frozen=True)
class HealthSources:
    """Where the figures come from (wired by ``idp.bootstrap``)."""

    jlis_breakers: Callable[[], dict[str, str]]
    jlis_probe: Callable[[], int]  # how many CAs J-LIS lists; raises when unreachable
    crl_dir: Path
    anchors_dir: Path
    signing_keys: Path


class PlatformHealth:
    def __init__(self, sessions: sessionmaker[Session], sources: HealthSources,
                 record: Recorder, trust_policy: TrustPolicyService | None = None) -> None:
        self._sessions = sessions
        self._record = record
        self._sources = sources
        self._policy = trust_policy

    def report(self, actor: Actor) -> Health:
        self._record.authorise(actor, Permission.READ_HEALTH, "health.read", None)
        health = Health(jlis=self._jlis(), crl=self._crls(), signing_keys=self._keys(),
                        backlogs=self._backlogs())
        self._record(actor, "health.read", None, None, "done")
        return health

    def _jlis(self) -> dict[str, Any]:
        started = time.monotonic()
        try:
            cas = self._sources.jlis_probe()
        except (IdpError, OSError, ValueError) as error:
            reachable, detail = False, str(error)[:200]
        else:
            reachable, detail = True, f"{cas} CAs listed"
        return {"reachable": reachable, "detail": detail,
                "latency_ms": round((time.monotonic() - started) * 1000),
                "breakers": self._sources.jlis_breakers()}

    def _crls(self) -> list[dict[str, Any]]:
        names = {**_anchor_names(self._sources.anchors_dir), **self._policy_names()}
        found: list[dict[str, Any]] = []
        now = time.time()
        for path in sorted(self._sources.crl_dir.glob("*.idx")):
            try:
                index = CrlIndex(path)
            except (JpkiError, OSError, ValueError):
                found.append({"file": path.name, "ca": None, "error": "unreadable"})
                continue
            meta = index.meta
            index.close()
            found.append({"ca": names.get(meta.issuer_key_id.hex(), meta.issuer_key_id.hex()),
                          "this_update": meta.this_update.isoformat(),
                          "next_update": meta.next_update.isoformat(),
                          "age_seconds": int(now - meta.this_update.timestamp()),
                          "stale": meta.next_update.timestamp() < now,
                          "revoked": index.count})
        return found

    def _policy_names(self) -> dict[str, str]:
        """Each CA of the trust policy, by key id: purpose/medium/generation and subject."""
        if self._policy is None:
            return {}
        anchors = self._policy.current().policy.anchors
        certificates = self._policy.certificates(a.fingerprint for a in anchors)
        return {anchor_key_id(certificates[a.fingerprint]).hex():
                f"{a.purpose}/{a.medium}/{a.generation}: {a.subject}"
                for a in anchors if a.fingerprint in certificates}

    def _keys(self) -> list[dict[str, Any]]:
        try:
            keys = json.loads(self._sources.signing_keys.read_text())["keys"]
        except (OSError, ValueError, KeyError):
            return []
        return [{"kid": k["kid"], "alg": k["alg"], "created_at": k["created_at"],
                 "retired_at": k["retired_at"]} for k in keys]

    def _backlogs(self) -> dict[str, int]:
        with self._sessions() as db:
            logout = db.scalar(select(func.count()).select_from(LogoutDelivery)
                               .where(LogoutDelivery.state == LOGOUT_PENDING))
            events = db.scalar(select(func.count()).select_from(SecurityEvent)
                               .where(SecurityEvent.state == EVENT_PENDING))
        return {"logout": int(logout or 0), "events": int(events or 0)}


def _anchor_names(directory: Path) -> dict[str, str]:
    """Each trusted CA's key id (hex) -> its subject, from the anchors' PEM files."""
    names: dict[str, str] = {}
    for path in sorted(directory.glob("*/*.pem")):
        try:
            for certificate in x509.load_pem_x509_certificates(path.read_bytes()):
                names[anchor_key_id(certificate).hex()] = \
                    f"{path.parent.name}: {certificate.subject.rfc4514_string()}"
        except (ValueError, OSError):
            continue
    return names
