"""The stream management API's operations (SSF §8.1.1 configuration, §8.1.2 status).

Every operation acts for one receiver, the client the access token names (``idp.events.access``),
and sees only that receiver's stream: another receiver's stream_id is answered as unknown (404),
so stream ids cannot be probed. A receiver has one stream (a second creation: 409, §8.1.1.1).
Status: ``enabled`` delivers, ``paused`` holds the events for later, ``disabled`` drops them
(§8.1.2.1). A status the transmitter itself sets (:func:`set_by_transmitter`, for the
administrators' tools) is announced with a ``stream-updated`` event, sent before a pause or a
disabling takes effect and after re-enabling (§8.1.5).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.events import config, vocabulary
from idp.events.context import EventsContext
from idp.events.emitter import EVENTS, owed
from idp.events.errors import EventsError, StreamExistsError, StreamNotFoundError
from idp.events.models import DROPPED, PENDING, SecurityEvent, Stream

STATUSES = ("enabled", "paused", "disabled")
MAX_REASON = 200


def create(ctx: EventsContext, client_id: str, body: dict[str, Any]) -> dict[str, Any]:
    if "stream_id" in body:
        raise EventsError("stream_id is set by the transmitter")
    asked = config.requested(ctx, body)
    now = int(time.time())
    stream = Stream(stream_id=secrets.token_urlsafe(16), client_id=client_id, status="enabled",
                    failures=0, next_push_at=0.0, created_at=now)
    _apply(stream, asked, now)
    try:
        with ctx.sessions() as db, db.begin():
            db.add(stream)
            db.flush()
            return config.shown(ctx, stream)
    except IntegrityError as error:  # the unique client_id: written first, no race
        raise StreamExistsError() from error


def read(ctx: EventsContext, client_id: str,
         stream_id: str | None) -> dict[str, Any] | list[dict[str, Any]]:
    """The stream named, or (no stream_id) the list of this receiver's streams (§8.1.1.2)."""
    with ctx.sessions() as db:
        if stream_id is None:
            return [config.shown(ctx, stream) for stream in db.scalars(
                select(Stream).where(Stream.client_id == client_id))]
        return config.shown(ctx, load(db, client_id, stream_id))


def change(ctx: EventsContext, client_id: str, body: dict[str, Any], *,
           replace: bool) -> dict[str, Any]:
    """Update (PATCH: members left out stay) or replace (PUT: members left out are reset)."""
    with ctx.sessions() as db, db.begin():
        stream = load(db, client_id, named(body))
        asked = config.requested(ctx, body, current=stream, keep=not replace)
        if (asked.method, asked.endpoint_url) != (stream.method, stream.endpoint_url):
            stream.failures, stream.next_push_at = 0, 0.0  # a new endpoint is tried at once
        _apply(stream, asked, int(time.time()))
        return config.shown(ctx, stream)


def remove(ctx: EventsContext, client_id: str, stream_id: str | None) -> None:
    """Delete the stream, its events and its removed subjects (§8.1.1.5)."""
    with ctx.sessions() as db, db.begin():
        stream = load(db, client_id, _required(stream_id))
        db.execute(delete(SecurityEvent).where(SecurityEvent.stream_id == stream.stream_id))
        db.delete(stream)


def status(ctx: EventsContext, client_id: str, stream_id: str | None) -> dict[str, Any]:
    with ctx.sessions() as db:
        return _status(load(db, client_id, _required(stream_id)))


def set_status(ctx: EventsContext, client_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """The receiver sets its stream's status (§8.1.2.2)."""
    wanted, reason = _status_asked(body)
    with ctx.sessions() as db, db.begin():
        stream = load(db, client_id, named(body))
        _set(db, stream, wanted, reason)
        return _status(stream)


def set_by_transmitter(ctx: EventsContext, stream_id: str, wanted: str, reason: str) -> None:
    """The transmitter (an administrator) sets a stream's status, telling the receiver."""
    wanted, why = _status_asked({"status": wanted, "reason": reason})
    with ctx.sessions() as db, db.begin():
        stream = db.get(Stream, stream_id)
        if stream is None:
            raise StreamNotFoundError()
        if stream.status != wanted:
            db.connection().execute(EVENTS.insert(), [owed(
                stream_id, None, vocabulary.STREAM_UPDATED, {"status": wanted, "reason": why},
                sub=None, issued=int(time.time()))])
        _set(db, stream, wanted, why)


def load(db: Session, client_id: str, stream_id: str) -> Stream:
    """This receiver's stream ``stream_id``; unknown, or another receiver's: 404."""
    stream = db.scalar(select(Stream).where(Stream.stream_id == stream_id,
                                            Stream.client_id == client_id))
    if stream is None:
        raise StreamNotFoundError()
    return stream


def named(body: dict[str, Any]) -> str:
    """The body's stream_id, required."""
    return _required(body.get("stream_id"))


def _required(stream_id: Any) -> str:
    if not isinstance(stream_id, str) or not stream_id:
        raise EventsError("stream_id is required")
    return stream_id


def _apply(stream: Stream, asked: config.Requested, now: int) -> None:
    stream.events_requested = asked.events_requested
    stream.events_delivered = asked.events_delivered
    stream.method, stream.endpoint_url = asked.method, asked.endpoint_url
    stream.authorization_header = asked.authorization_header
    stream.description = asked.description
    stream.updated_at = now


def _status(stream: Stream) -> dict[str, Any]:
    found = {"stream_id": stream.stream_id, "status": stream.status}
    return {**found, "reason": stream.reason} if stream.reason else found


def _status_asked(body: dict[str, Any]) -> tuple[str, str | None]:
    wanted, reason = body.get("status"), body.get("reason")
    if wanted not in STATUSES:
        raise EventsError(f"status must be one of {', '.join(STATUSES)}")
    if reason is not None and not isinstance(reason, str):
        raise EventsError("reason must be a string")
    return str(wanted), reason[:MAX_REASON] if reason else None


def _set(db: Session, stream: Stream, wanted: str, reason: str | None) -> None:
    """A disabled stream holds nothing: its pending events are dropped (but for the
    stream-updated event announcing it)."""
    stream.status, stream.reason, stream.updated_at = wanted, reason, int(time.time())
    if wanted == "disabled":
        db.execute(update(SecurityEvent).where(
            SecurityEvent.stream_id == stream.stream_id, SecurityEvent.state == PENDING,
            SecurityEvent.event_type != vocabulary.STREAM_UPDATED).values(
            state=DROPPED, last_error="stream disabled", finished_at=int(time.time())))
