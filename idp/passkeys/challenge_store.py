"""The database challenge store: one row per challenge, deleted by the answer that uses it.

Its statements are prepared once (``idp.prepared``) and run on the caller's connection:
every passkey sign-in saves one challenge, reads it and takes it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, delete, insert, select
from sqlalchemy.orm import Session

from idp.db import Base
from idp.passkeys.challenges import new_handle
from idp.passkeys.models import PasskeyChallenge
from idp.passkeys.values import Anchor, Ceremony, PendingChallenge
from idp.prepared import Prepared, execute_on, first_on, write_one

# Expired rows are kept this long, so that a late answer hears "expired", not "unknown".
KEEP_EXPIRED = timedelta(hours=1)
# Expired rows are purged at one save in this many (per process), not at every save: the DELETE
# was ~2% of a passkey login's time, and ``idp db prune`` removes them too. Until then they can
# only be refused as expired.
PURGE_EVERY = 64
_saves = itertools.count()
CHALLENGES = Base.metadata.tables[PasskeyChallenge.__tablename__]
_SAVE = Prepared(insert(CHALLENGES))
# One DELETE ... RETURNING decides: of two concurrent answers only one gets the row.
# A challenge's columns, in the order ``pending_of`` reads them.
COLUMNS = (CHALLENGES.c.ceremony, CHALLENGES.c.challenge, CHALLENGES.c.expires_at,
            CHALLENGES.c.private_id, CHALLENGES.c.anchor_issuer, CHALLENGES.c.anchor_serial)
_TAKE = Prepared(delete(CHALLENGES).where(CHALLENGES.c.id == bindparam("handle"))
                 .returning(*COLUMNS))
_READ = Prepared(select(*COLUMNS).where(CHALLENGES.c.id == bindparam("handle")))
_PURGE = Prepared(delete(CHALLENGES).where(CHALLENGES.c.expires_at < bindparam("before")))


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SqlChallengeStore:
    """Challenges in ``passkey_challenges``, within the caller's unit of work (``session``)."""

    def __init__(self, session: Session, clock: Callable[[], datetime] = _utcnow, *,
                 purge_every: int = PURGE_EVERY) -> None:
        self._session = session
        self._clock = clock
        self._purge_every = purge_every

    def save(self, pending: PendingChallenge) -> str:
        return _saved(lambda statement, values: execute_on(
            self._session.connection(), statement, values), pending, self._clock,
            self._purge_every)

    def take(self, handle: str) -> PendingChallenge | None:
        return pending_of(first_on(self._session.connection(), _TAKE, {"handle": handle}))

    def read(self, handle: str) -> PendingChallenge | None:
        return pending_of(first_on(self._session.connection(), _READ, {"handle": handle}))


def save_alone(engine: Engine, pending: PendingChallenge,
               clock: Callable[[], datetime] = _utcnow) -> str:
    """:meth:`SqlChallengeStore.save` with no unit of work around it (a sign-in's options):
    each statement commits by itself (``write_one``: one round trip on PostgreSQL)."""
    return _saved(lambda statement, values: write_one(engine, statement, values), pending,
                  clock, PURGE_EVERY)


def _saved(run: Callable[[Prepared, dict[str, Any]], Any], pending: PendingChallenge,
           clock: Callable[[], datetime], purge_every: int) -> str:
    """A save through ``run`` (a statement and its values): at one save in ``purge_every``,
    challenges expired for over ``KEEP_EXPIRED`` are forgotten first."""
    if next(_saves) % purge_every == 0:
        run(_PURGE, {"before": int((clock() - KEEP_EXPIRED).timestamp())})
    handle = new_handle()
    run(_SAVE, _row(handle, pending))
    return handle


def _row(handle: str, pending: PendingChallenge) -> dict[str, Any]:
    anchor = pending.anchor
    return {"id": handle, "ceremony": pending.ceremony.value, "challenge": pending.challenge,
            "private_id": pending.private_id,
            "anchor_issuer": anchor.issuer if anchor else None,
            "anchor_serial": anchor.serial if anchor else None,
            "expires_at": int(pending.expires_at.timestamp())}


def pending_of(row: Sequence[Any] | None) -> PendingChallenge | None:
    """The challenge of a row of ``COLUMNS`` (None: no row)."""
    if row is None:
        return None
    ceremony, challenge, expires_at, private_id, anchor_issuer, anchor_serial = row
    anchor = None
    if anchor_issuer is not None and anchor_serial is not None:
        anchor = Anchor(issuer=anchor_issuer, serial=anchor_serial)
    return PendingChallenge(
        ceremony=Ceremony(ceremony), challenge=challenge,
        expires_at=datetime.fromtimestamp(expires_at, UTC), private_id=private_id,
        anchor=anchor,
    )
