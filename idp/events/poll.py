"""Poll delivery (RFC 8936, SSF §6.1.2): the receiver asks, acknowledges, reports errors.

A poll request ``{"maxEvents", "returnImmediately", "ack", "setErrs"}`` first records the
acknowledgements (delivered) and the errors (given up, with the receiver's ``err``) of SETs it
was served, then serves up to ``maxEvents`` (default 100, at most 1000) of the stream's pending
SETs, oldest first, as ``{"sets": {jti: SET}, "moreAvailable"}``. A SET served and not
acknowledged is served again after ``events.poll_redelivery_seconds`` (RFC 8936 §2.4.4), with
the same ``jti``. The answer is always immediate: ``returnImmediately: false`` (long polling)
is allowed to, not required of, the transmitter (§2.4.1).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import not_, select, update
from sqlalchemy.orm import Session

from idp.events import outbox, vocabulary
from idp.events.context import POLL, EventsContext
from idp.events.emitter import claims
from idp.events.errors import EventsError
from idp.events.models import DELIVERED, DROPPED, FAILED, PENDING, SecurityEvent
from idp.events.outbox import DROPPED_NO_CONSENT
from idp.events.streams import load
from idp.oidc.models import Consent

DEFAULT_MAX_EVENTS, MAX_EVENTS, MAX_ACKS = 100, 1000, 1000


@dataclass(frozen=True)
class PollRequest:
    max_events: int
    ack: list[str]
    errors: dict[str, str]  # jti -> "err: description"


def poll(ctx: EventsContext, client_id: str, stream_id: str, body: Any) -> dict[str, Any]:
    asked = parse(body)
    with ctx.sessions() as db:  # a read of its own; the transaction below starts with writes
        stream = load(db, client_id, stream_id)
        if stream.method != POLL:
            raise EventsError("this stream delivers by push (RFC 8935); it cannot be polled")
        status = stream.status
    now = time.time()
    with ctx.sessions() as db, db.begin():
        _drop_unconsented(db, stream_id, client_id)
        _acknowledge(ctx, db, stream_id, asked)
        served = _serve(db, stream_id, status, asked.max_events, now,
                        now + ctx.settings.poll_redelivery_seconds)
        sets = {row.jti: ctx.sign(claims(ctx.issuer, client_id, stream_id, row))
                for row in served}
        more = asked.max_events > 0 and db.scalar(select(SecurityEvent.id).where(
            *_pending(stream_id, status, now)).limit(1)) is not None
    return {"sets": sets, "moreAvailable": more}


def parse(body: Any) -> PollRequest:
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise EventsError("the poll request must be a JSON object (RFC 8936 §2.4)")
    max_events = body.get("maxEvents", DEFAULT_MAX_EVENTS)
    if not isinstance(max_events, int) or isinstance(max_events, bool) or max_events < 0:
        raise EventsError("maxEvents must be a non-negative integer")
    ack = body.get("ack", [])
    if not isinstance(ack, list) or not all(isinstance(jti, str) for jti in ack) or \
            len(ack) > MAX_ACKS:
        raise EventsError(f"ack must be an array of at most {MAX_ACKS} jti values")
    errors = body.get("setErrs", {})
    if not isinstance(errors, dict) or len(errors) > MAX_ACKS or not all(
            isinstance(error, dict) and isinstance(error.get("err"), str)
            for error in errors.values()):
        raise EventsError('setErrs must map jti values to {"err", "description"}')
    if not isinstance(body.get("returnImmediately", True), bool):
        raise EventsError("returnImmediately must be true or false")
    return PollRequest(min(max_events, MAX_EVENTS), ack, {
        jti: f"{error['err']}: {error.get('description', '')}"[:300]
        for jti, error in errors.items()})


def _drop_unconsented(db: Session, stream_id: str, client_id: str) -> None:
    consent = select(Consent.id).where(Consent.private_id == SecurityEvent.private_id,
                                       Consent.client_id == client_id).exists()
    db.execute(update(SecurityEvent).where(
        SecurityEvent.stream_id == stream_id, SecurityEvent.state == PENDING,
        SecurityEvent.private_id.is_not(None), not_(consent)).values(
        state=DROPPED, last_error=DROPPED_NO_CONSENT, finished_at=int(time.time())))


def _acknowledge(ctx: EventsContext, db: Session, stream_id: str, asked: PollRequest) -> None:
    finished = int(time.time())
    if asked.ack:
        acked = db.scalars(update(SecurityEvent).where(
            SecurityEvent.stream_id == stream_id, SecurityEvent.state == PENDING,
            SecurityEvent.jti.in_(asked.ack)).values(state=DELIVERED, finished_at=finished)
            .returning(SecurityEvent.jti)).all()
        if acked:
            outbox.audited(ctx, db, stream_id, sorted(acked), DELIVERED)
    for jti, error in asked.errors.items():
        failed = db.scalar(update(SecurityEvent).where(
            SecurityEvent.stream_id == stream_id, SecurityEvent.state == PENDING,
            SecurityEvent.jti == jti).values(state=FAILED, last_error=error,
                                             finished_at=finished)
            .returning(SecurityEvent.jti))
        if failed is not None:
            outbox.audited(ctx, db, stream_id, [failed], FAILED, error)


def _serve(db: Session, stream_id: str, status: str, limit: int, now: float,
           lease: float) -> list[Any]:
    """The SETs served now, oldest first, leased until ``lease``."""
    if limit == 0:
        return []
    chosen = select(SecurityEvent.id).where(*_pending(stream_id, status, now)).order_by(
        SecurityEvent.id).limit(limit).scalar_subquery()
    rows = db.execute(update(SecurityEvent).where(SecurityEvent.id.in_(chosen)).values(
        next_attempt_at=lease, attempts=SecurityEvent.attempts + 1).returning(
        SecurityEvent.id, SecurityEvent.jti, SecurityEvent.txn, SecurityEvent.sub,
        SecurityEvent.event_type, SecurityEvent.body, SecurityEvent.created_at)).all()
    return sorted(rows, key=lambda row: row.id)


def _pending(stream_id: str, status: str, now: float) -> list[Any]:
    """What the stream may be served now: everything pending while it is enabled, else only
    the announcement of its status (a paused stream holds the rest)."""
    found: list[Any] = [SecurityEvent.stream_id == stream_id, SecurityEvent.state == PENDING,
                        SecurityEvent.next_attempt_at <= now]
    if status != "enabled":
        found.append(SecurityEvent.event_type == vocabulary.STREAM_UPDATED)
    return found

