"""The events outbox as push and poll read it: the SETs a stream is owed, in order, and their
outcome. An event about a person goes out only while that person's consent to the relying party
stands: withdrawn on /account (``idp.oidc.consent``), the events still owed are dropped."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from idp.audit import entries as audit
from idp.events import vocabulary
from idp.events.context import EventsContext
from idp.events.emitter import claims
from idp.events.models import DELIVERED, DROPPED, PENDING, SecurityEvent, Stream
from idp.oidc.models import Consent

DROPPED_NO_CONSENT = "consent withdrawn"


@dataclass(frozen=True)
class Owed:
    id: int
    jti: str
    claims: dict[str, Any]
    attempts: int
    consented: bool  # the person still consents (or the event is not about a person)


def due(db: Session, issuer: str, stream_id: str, status: str, limit: int, *,
        now: float | None = None) -> list[Owed]:
    """The stream's pending events, oldest first: all of them while it is enabled, only the
    announcement of its new status otherwise (a paused stream holds the rest). ``now``: only
    those not served since (poll)."""
    held = status != "enabled"
    kinds = [SecurityEvent.event_type == vocabulary.STREAM_UPDATED] if held else []
    if now is not None:
        kinds.append(SecurityEvent.next_attempt_at <= now)
    consented = or_(SecurityEvent.private_id.is_(None), select(Consent.id).where(
        Consent.private_id == SecurityEvent.private_id,
        Consent.client_id == Stream.client_id).exists())
    rows = db.execute(select(
        SecurityEvent.id, SecurityEvent.jti, SecurityEvent.txn, SecurityEvent.sub,
        SecurityEvent.event_type, SecurityEvent.body, SecurityEvent.created_at,
        SecurityEvent.attempts, consented.label("consented"), Stream.client_id)
        .join(Stream, Stream.stream_id == SecurityEvent.stream_id).where(
        SecurityEvent.stream_id == stream_id, SecurityEvent.state == PENDING, *kinds)
        .order_by(SecurityEvent.id).limit(limit)).all()
    return [Owed(row.id, row.jti, claims(issuer, row.client_id, stream_id, row), row.attempts,
                 bool(row.consented)) for row in rows]


def finish(ctx: EventsContext, event_id: int, error: str | None, *,
           attempts: int | None = None, state: str | None = None) -> None:
    """Record an event's outcome: delivered (no ``error``), or ``state`` with ``error``."""
    values: dict[str, Any] = {"state": state or (DELIVERED if error is None else DROPPED),
                              "last_error": error[:300] if error else None,
                              "finished_at": int(time.time())}
    if attempts is not None:
        values["attempts"] = attempts
    elif error is None:
        values["attempts"] = SecurityEvent.attempts + 1
    with ctx.sessions() as db, db.begin():
        done = db.execute(update(SecurityEvent).where(
            SecurityEvent.id == event_id, SecurityEvent.state == PENDING).values(**values)
            .returning(SecurityEvent.stream_id, SecurityEvent.jti)).first()
        if done is not None:
            audited(ctx, db, done.stream_id, [done.jti], values["state"], error)


def audited(ctx: EventsContext, db: Session, stream_id: str, jtis: list[str], state: str,
            error: str | None = None) -> None:
    """The audit entry of SETs whose delivery ended (pushed, acknowledged, given up)."""
    ctx.oidc.audit.record("event.delivered", actor=audit.system(),
                          target=f"stream:{stream_id}", outcome=state,
                          details={"jti": jtis, "error": error[:300] if error else None},
                          db=db)
