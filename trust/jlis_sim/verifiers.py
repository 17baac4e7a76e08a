"""Registered verifiers: API keys (only their SHA-256 is stored), the audit log and metering.

Only verifiers approved by the minister may ask J-LIS, and the certification criteria ask for a log
of every operation; the 2016 fee plan charges per validity check by purpose (sign 20 yen, auth
2 yen).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idp.jpki.profile import Purpose
from trust.jlis_sim.errors import ForbiddenError, UnauthenticatedError
from trust.jlis_sim.models import AuditEntry, MeterEntry, Verifier
from trust.jlis_sim.store import Sim, to_db

YEN_PER_CHECK = {Purpose.SIGN: 20, Purpose.AUTH: 2}


def _digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def register(sim: Sim, name: str) -> dict[str, str]:
    """A new verifier; the API key is shown once, here, and never stored."""
    api_key = "jlis_" + secrets.token_urlsafe(32)
    verifier_id = "v-" + secrets.token_hex(6)
    with sim.transaction() as session:
        session.add(Verifier(verifier_id=verifier_id, name=name, api_key_sha256=_digest(api_key),
                             created_at=to_db(sim.now())))
    return {"verifier_id": verifier_id, "api_key": api_key}


def authenticate(session: Session, authorization: str | None) -> Verifier:
    """The verifier named by ``Authorization: Bearer <api_key>``: 401 without, 403 if unknown."""
    scheme, _, api_key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not api_key.strip():
        raise UnauthenticatedError()
    digest = _digest(api_key.strip())
    verifier = session.scalar(select(Verifier).where(Verifier.api_key_sha256 == digest))
    if verifier is None or not hmac.compare_digest(verifier.api_key_sha256, digest):
        raise ForbiddenError()
    return verifier


def audit(session: Session, sim: Sim, verifier_id: str | None, endpoint: str,
          serial: str | None, outcome: str) -> None:
    session.add(AuditEntry(at=to_db(sim.now()), verifier_id=verifier_id, endpoint=endpoint,
                           serial=serial, outcome=outcome[:200]))


def meter(session: Session, sim: Sim, verifier_id: str, purpose: Purpose, endpoint: str) -> None:
    session.add(MeterEntry(at=to_db(sim.now()), verifier_id=verifier_id, purpose=purpose.value,
                           endpoint=endpoint))


def usage(session: Session, verifier_id: str, since: datetime | None = None) -> dict[str, Any]:
    """``{"verifier_id", "checks": {"sign": n, "auth": n}, "yen": n}``."""
    query = (select(MeterEntry.purpose, func.count()).where(MeterEntry.verifier_id == verifier_id)
             .group_by(MeterEntry.purpose))
    if since is not None:
        query = query.where(MeterEntry.at >= to_db(since))
    counts = {p.value: 0 for p in Purpose}
    counts.update({purpose: n for purpose, n in session.execute(query)})
    yen = sum(YEN_PER_CHECK[Purpose(p)] * n for p, n in counts.items())
    return {"verifier_id": verifier_id, "checks": counts, "yen": yen}


def all_usage(session: Session) -> list[dict[str, Any]]:
    verifiers = session.scalars(select(Verifier).order_by(Verifier.created_at))
    return [usage(session, v.verifier_id) | {"name": v.name} for v in verifiers]
