"""From changes to owed Security Event Tokens: the ``ChangeSink`` of ``idp.accounts``.

For the private IDs a batch of changes is about, one query finds their *listeners*: relying
parties the person consented to (a consent is recorded for every relying party the person
used: ``idp.oidc.consent``) that keep a stream not disabled. Each listener gets, for each change,
the events ``vocabulary`` makes of it given what the person consented to give it, limited to
the stream's ``events_delivered`` and to subjects it did not remove, named by the ``sub`` it
knows. The rows are inserted in bulk, in the transaction of the change: nothing is owed for a
change that did not commit, and nothing committed is lost to a crash.
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from idp.accounts.changes import Change
from idp.db import Base
from idp.events import vocabulary
from idp.events.models import PENDING, RemovedSubject, SecurityEvent, Stream
from idp.oidc.models import Client, Consent
from idp.oidc.pairwise import subject_for

EVENTS = Base.metadata.tables[SecurityEvent.__tablename__]
IN_CHUNK = 500


@dataclass(frozen=True)
class Listener:
    """A relying party's stream that may hear about one person."""

    stream_id: str
    client_id: str
    delivered: frozenset[str]
    approved: frozenset[str]  # the claims the person consented to give it
    sub: str  # the person, as this relying party knows them


class Emitter:
    def __init__(self, issuer: str, pairwise_salt: str) -> None:
        self._issuer = issuer
        self._salt = pairwise_salt

    def record(self, db: Session, changes: Sequence[Change]) -> None:
        """Owe every listener the events ``changes`` make, in ``db``'s transaction."""
        connection = db.connection()
        listeners = self.listeners(connection, {change.private_id for change in changes})
        rows = [row for change in changes
                for row in self._rows(change, listeners.get(change.private_id, ()))]
        if rows:
            connection.execute(insert(EVENTS), rows)

    def listeners(self, connection: Connection,
                  private_ids: set[str]) -> dict[str, list[Listener]]:
        found: dict[str, list[Listener]] = defaultdict(list)
        ordered = sorted(private_ids)
        for start in range(0, len(ordered), IN_CHUNK):
            chunk = [self._listener(row) for row in connection.execute(select(
                Consent.private_id, Consent.claims, Stream.stream_id, Stream.client_id,
                Stream.events_delivered, Client.subject_type, Client.sector_identifier)
                .join(Stream, Stream.client_id == Consent.client_id)
                .join(Client, Client.client_id == Consent.client_id)
                .where(Consent.private_id.in_(ordered[start:start + IN_CHUNK]),
                       Stream.status != "disabled"))]
            removed = _removed(connection, chunk)
            for private_id, listener in chunk:
                if (listener.stream_id, listener.sub) not in removed:
                    found[private_id].append(listener)
        return found

    def _listener(self, row: Any) -> tuple[str, Listener]:
        private_id, consented, stream_id, client_id, delivered, subject_type, sector = row
        return private_id, Listener(
            stream_id, client_id, frozenset(delivered), frozenset(consented.get("approved", [])),
            subject_for(subject_type, sector, private_id, self._salt))

    def _rows(self, change: Change, listeners: Sequence[Listener]) -> Iterator[dict[str, Any]]:
        txn, issued = secrets.token_urlsafe(16), int(time.time())
        private_id = None if change.purged else change.private_id
        made: dict[frozenset[str], list[tuple[str, vocabulary.Body]]] = {}
        for listener in listeners:
            if listener.approved not in made:  # most listeners were given the same claims
                made[listener.approved] = vocabulary.events(change, listener.approved)
            for event_type, body in made[listener.approved]:
                if event_type in listener.delivered:
                    yield owed(listener.stream_id, private_id, event_type, body, txn=txn,
                               sub=listener.sub, issued=issued)


def owed(stream_id: str, private_id: str | None, event_type: str, body: Mapping[str, Any], *,
         txn: str | None = None, sub: str | None, issued: int) -> dict[str, Any]:
    """An ``ssf_events`` row: a SET owed to ``stream_id`` about ``sub`` (None: the stream
    itself), with a new ``jti`` (and ``txn`` when no cause shares it). ``private_id``: whose
    consent it needs at delivery; None for none."""
    jti = secrets.token_urlsafe(16)
    return {"stream_id": stream_id, "private_id": private_id, "jti": jti, "txn": txn or jti,
            "sub": sub, "event_type": event_type, "body": dict(body), "state": PENDING,
            "attempts": 0, "next_attempt_at": 0.0, "created_at": issued}


def claims(issuer: str, audience: str, stream_id: str, row: Any) -> dict[str, Any]:
    """The SET's claims from an ``ssf_events`` row (``jti``, ``txn``, ``sub``, ``event_type``,
    ``body``, ``created_at``), for the stream's receiver ``audience``."""
    subject = vocabulary.person(issuer, row.sub) if row.sub else vocabulary.stream(stream_id)
    return vocabulary.security_event_token(
        issuer=issuer, audience=audience, jti=row.jti, iat=row.created_at, txn=row.txn,
        subject=subject, event_type=row.event_type, body=row.body)


def _removed(connection: Connection, chunk: Sequence[tuple[str, Listener]]) -> set[tuple[str, str]]:
    """Which (stream, sub) of ``chunk`` the receivers removed from their streams."""
    subs = sorted({listener.sub for _, listener in chunk})
    if not subs:
        return set()
    return {(row[0], row[1]) for row in connection.execute(select(
        RemovedSubject.stream_id, RemovedSubject.sub).where(RemovedSubject.sub.in_(subs)))}
