"""Delete rows that are past their expiry and can no longer be used (`idp db prune`).

Every table here is written on the login and token paths and only ever read while its rows are
live: a code, interaction, pushed request, card request, device authorization (RFC 8628) or
passkey challenge past ``expires_at`` is refused when presented, a client assertion past its
``exp`` is refused before its jti is looked up (RFC 7523 §3), a token past its lifetime (revoked
or not) is inactive (RFC 7662 §2.2), and a window of failed attempts past its end no longer
counts (``idp.throttle``). A rotated refresh token stays until it expires, so a replay is still
detected (RFC 9700 §4.14.2).
Deleting them only stops the tables from growing. Back-channel logout deliveries and Security
Event Tokens (``ssf_events``) have no expiry: a delivered (or, for events, dropped) one goes
after the margin, one given up on stays a week longer so an operator can still see which
relying party never heard of a logout or a change.

Rows are deleted in small batches, each in its own short transaction, so the workers' writes
(SQLite allows one writer at a time) wait for one batch, not for the whole sweep. The safety
margin keeps rows a while after they expire, so a request racing the expiry still sees the row
and gets the precise refusal ("expired"), not "unknown".
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Table, and_, delete, or_, select, tuple_
from sqlalchemy.orm import Session, sessionmaker

from idp.accounts.jpki_models import CardRequestRow
from idp.db import Base
from idp.events.models import DROPPED, SecurityEvent
from idp.oidc.models import (
    AuthorizationCode,
    DeviceAuthorization,
    Interaction,
    PushedRequest,
    Token,
    UsedAssertion,
)
from idp.oidc.outbox_models import DELIVERED, FAILED, LogoutDelivery
from idp.passkeys.models import PasskeyChallenge
from idp.throttle.models import FailedAttempts

DEFAULT_MARGIN_SECONDS = 300
DEFAULT_BATCH_SIZE = 1000
FAILED_DELIVERY_RETENTION_SECONDS = 7 * 24 * 3600

# Tables whose expires_at holds epoch seconds; card requests keep a timezone-aware datetime.
_EPOCH_TABLES = tuple(Base.metadata.tables[model.__tablename__] for model in (
    AuthorizationCode, Interaction, PushedRequest, UsedAssertion, Token, PasskeyChallenge,
    FailedAttempts, DeviceAuthorization))
_DATETIME_TABLES = (Base.metadata.tables[CardRequestRow.__tablename__],)
_OUTBOX = Base.metadata.tables[LogoutDelivery.__tablename__]
_EVENTS = Base.metadata.tables[SecurityEvent.__tablename__]


@dataclass(frozen=True)
class PruneResult:
    """Rows deleted per table, in the order the tables were swept."""

    deleted: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def prune(sessions: sessionmaker[Session], *, now: float | None = None,
          margin_seconds: int = DEFAULT_MARGIN_SECONDS,
          batch_size: int = DEFAULT_BATCH_SIZE) -> PruneResult:
    """Delete every row that expired more than ``margin_seconds`` before ``now``."""
    if margin_seconds < 0 or batch_size < 1:
        raise ValueError("margin_seconds must be ≥ 0 and batch_size ≥ 1")
    cutoff = int(time.time() if now is None else now) - margin_seconds
    deleted: dict[str, int] = {}
    for table in _EPOCH_TABLES:
        deleted[table.name] = _sweep(sessions, table, table.c.expires_at < cutoff, batch_size)
    for table in _DATETIME_TABLES:
        deleted[table.name] = _sweep(
            sessions, table, table.c.expires_at < datetime.fromtimestamp(cutoff, UTC), batch_size)
    for outbox, done in ((_OUTBOX, (DELIVERED,)), (_EVENTS, (DELIVERED, DROPPED))):
        finished = outbox.c.finished_at
        deleted[outbox.name] = _sweep(sessions, outbox, or_(
            and_(outbox.c.state.in_(done), finished < cutoff),
            and_(outbox.c.state == FAILED, finished < cutoff - FAILED_DELIVERY_RETENTION_SECONDS),
        ), batch_size)
    return PruneResult(deleted)


def _sweep(sessions: sessionmaker[Session], table: Table, expired: ColumnElement[bool],
           batch_size: int) -> int:
    columns = list(table.primary_key.columns)
    # DELETE ... WHERE key IN (SELECT key ... LIMIT n): portable (SQLite has no DELETE ... LIMIT
    # unless compiled with it), and leads with the write, so it waits its turn under WAL. A
    # composite key (failed_attempts) is compared as a row value (SQLite ≥ 3.15, PostgreSQL).
    chosen = select(*columns).where(expired).limit(batch_size)
    batch = delete(table).where(columns[0].in_(chosen.scalar_subquery()) if len(columns) == 1
                                else tuple_(*columns).in_(chosen))
    total = 0
    while True:
        with sessions() as db, db.begin():
            count = db.connection().execute(batch).rowcount
        total += count
        if count < batch_size:
            return total
