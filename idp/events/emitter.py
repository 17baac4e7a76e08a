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
        for listener in listeners:
            for event_type, body in vocabulary.events(change, listener.approved):
                if event_type not in listener.delivered:
                    continue
                jti = secrets.token_urlsafe(16)
                yield owed(listener.stream_id, None if change.purged else change.private_id,
                           event_type, issued, vocabulary.security_event_token(
                               issuer=self._issuer, audience=listener.client_id, jti=jti,
                               iat=issued, txn=txn, event_type=event_type, body=body,
                               subject=vocabulary.person(self._issuer, listener.sub)))


def owed(stream_id: str, private_id: str | None, event_type: str, issued: int,
         claims: Mapping[str, Any]) -> dict[str, Any]:
    """An ``ssf_events`` row: a SET owed to ``stream_id`` (``private_id``: whose consent it
    needs at delivery; None for none)."""
    return {"stream_id": stream_id, "private_id": private_id, "jti": claims["jti"],
            "event_type": event_type, "claims": dict(claims), "state": PENDING, "attempts": 0,
            "next_attempt_at": 0.0, "created_at": issued}


def _removed(connection: Connection, chunk: Sequence[tuple[str, Listener]]) -> set[tuple[str, str]]:
    """Which (stream, sub) of ``chunk`` the receivers removed from their streams."""
    subs = sorted({listener.sub for _, listener in chunk})
    if not subs:
        return set()
    return {(row[0], row[1]) for row in connection.execute(select(
        RemovedSubject.stream_id, RemovedSubject.sub).where(RemovedSubject.sub.in_(subs)))}
