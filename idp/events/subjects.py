"""Subjects of a stream (SSF §8.1.3) and the verification event (§8.1.4).

Every person who consented to the receiver is in its stream by default (``default_subjects``:
ALL); a receiver may remove a subject and add it back. A subject is ``iss_sub`` with this
issuer and the ``sub`` the receiver knows. Adding one the transmitter does not know, or that
never consented, is answered like any other (200) and changes nothing: no subject can be
probed (§9.1), and no event ever goes to a receiver the person did not consent to.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from idp.events import vocabulary
from idp.events.context import EventsContext
from idp.events.emitter import EVENTS, owed
from idp.events.errors import EventsError, TooManyVerificationsError
from idp.events.models import RemovedSubject
from idp.events.streams import load, named

MAX_STATE = 1000


def add(ctx: EventsContext, client_id: str, body: dict[str, Any]) -> None:
    sub = _subject(ctx, body)
    with ctx.sessions() as db, db.begin():
        stream = load(db, client_id, named(body))
        db.execute(delete(RemovedSubject).where(RemovedSubject.stream_id == stream.stream_id,
                                                RemovedSubject.sub == sub))


def remove(ctx: EventsContext, client_id: str, body: dict[str, Any]) -> None:
    sub = _subject(ctx, body)
    try:
        with ctx.sessions() as db, db.begin():
            stream = load(db, client_id, named(body))
            db.add(RemovedSubject(stream_id=stream.stream_id, sub=sub))
    except IntegrityError:  # removed already
        return


def verify(ctx: EventsContext, client_id: str, body: dict[str, Any]) -> None:
    """Owe the stream a verification event echoing ``state`` (§8.1.4.2); delivered like any
    other event, whatever the stream's events_delivered."""
    state = body.get("state")
    if state is not None and (not isinstance(state, str) or len(state) > MAX_STATE):
        raise EventsError(f"state must be a string of at most {MAX_STATE} characters")
    now = time.time()
    with ctx.sessions() as db, db.begin():
        stream = load(db, client_id, named(body))
        interval = ctx.settings.min_verification_interval_seconds
        if stream.verified_at is not None and now < stream.verified_at + interval:
            raise TooManyVerificationsError(int(stream.verified_at + interval - now) + 1)
        stream.verified_at = now
        db.connection().execute(EVENTS.insert(), [owed(
            stream.stream_id, None, vocabulary.VERIFICATION,
            {} if state is None else {"state": state}, sub=None, issued=int(now))])


def _subject(ctx: EventsContext, body: dict[str, Any]) -> str:
    subject = body.get("subject")
    if not isinstance(subject, dict):
        raise EventsError("subject must be a subject identifier object")
    if subject.get("format") != "iss_sub":
        raise EventsError(f"subject format {subject.get('format')!r} is not supported; use "
                          "iss_sub with this issuer and the sub you know")
    sub = subject.get("sub")
    if subject.get("iss") != ctx.issuer or not isinstance(sub, str) or not sub or len(sub) > 255:
        raise EventsError(f"an iss_sub subject names iss {ctx.issuer!r} and a sub")
    return sub
