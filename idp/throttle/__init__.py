"""Throttling of failed credential attempts: after ``limit`` failures of one subject (a client_id,
a client address) within a fixed window, further attempts are refused with 429 until it ends.

Counts are shared through the database (``failed_attempts``), one row per scope, subject and
window, written by :meth:`FailureThrottle.failed` in its own short transaction. The lock itself
lives in each worker process: :meth:`FailureThrottle.refuse_if_locked` is a dict lookup, so a
successful request (the token endpoint is a measured hot path) never reads the database.

The trade-off: a process learns of a lock only at its own first failure for that subject, when
``failed`` reads the shared count. With W worker processes an attacker gets at most ``limit + W
- 1`` failures per window (each process answers one more failure before it locks too), and a
subject locked in one process is still served by the others for its correct credentials until
they see a failure. Guessing stays bounded by the shared count; the lock is what is lazy.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from types import TracebackType

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.dml import ReturningInsert

from idp import db as dbm
from idp.errors import IdpError
from idp.throttle.models import FailedAttempts

MAX_SUBJECT = 255  # the column's length
_LOCKS_BEFORE_SWEEP = 1024  # expired locks are dropped when the map grows past this


class TooManyAttemptsError(IdpError):
    """Too many failed attempts. Wait a few minutes, then try again."""

    code = "too_many_attempts"
    status = 429  # RFC 6585 §4

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = str(retry_after)  # seconds until the window ends (Retry-After)


class FailureThrottle:
    """Counts failures of one ``scope`` per subject; see the module docstring."""

    def __init__(self, sessions: sessionmaker[Session], scope: str, limit: int,
                 window_seconds: int, clock: Callable[[], float] = time.time) -> None:
        if limit < 1 or window_seconds < 1:
            raise ValueError("limit and window_seconds must be at least 1")
        self._sessions = sessions
        self.scope = scope
        self.limit = limit
        self.window_seconds = window_seconds
        self.clock = clock  # tests move time on
        self._locked_until: dict[str, float] = {}

    def refuse_if_locked(self, subject: str) -> None:
        """Raise TooManyAttemptsError while ``subject`` is locked in this process."""
        until = self._locked_until.get(_storable(subject))
        if until is None:
            return
        left = until - self.clock()
        if left > 0:
            raise TooManyAttemptsError(math.ceil(left))
        self._locked_until.pop(_storable(subject), None)

    def failed(self, subject: str) -> None:
        """Count one failure of ``subject``; lock it here once the window's count reaches the
        limit (the count is shared by every process, the lock is this process's)."""
        subject = _storable(subject)
        now = self.clock()
        start = int(now // self.window_seconds) * self.window_seconds
        end = start + self.window_seconds
        with dbm.transaction(self._sessions) as db:
            count = db.execute(_count_one(db, self.scope, subject, start, end)).scalar_one()
        if count >= self.limit:
            if len(self._locked_until) >= _LOCKS_BEFORE_SWEEP:
                self._locked_until = {s: u for s, u in self._locked_until.items() if u > now}
            self._locked_until[subject] = end

    def attempt(self, subject: str, *, counts: tuple[type[Exception], ...]) -> Attempt:
        """``with throttle.attempt(subject, counts=(...)):`` refuses a locked subject, and counts
        an exception of one of the ``counts`` types raised in the block as a failure."""
        return Attempt(self, subject, counts)


class Attempt:
    """The context manager of :meth:`FailureThrottle.attempt` (a class: cheaper than a
    generator-based one on the token endpoint's path)."""

    def __init__(self, throttle: FailureThrottle, subject: str,
                 counts: tuple[type[Exception], ...]) -> None:
        self._throttle = throttle
        self._subject = subject
        self._counts = counts

    def __enter__(self) -> None:
        self._throttle.refuse_if_locked(self._subject)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 _: TracebackType | None) -> None:
        if error is not None and isinstance(error, self._counts):
            self._throttle.failed(self._subject)


def _storable(subject: str) -> str:
    """A subject the database takes: bounded, and without NUL (PostgreSQL refuses it in text)."""
    return subject[:MAX_SUBJECT].replace("\x00", "\ufffd") or "unknown"


def _count_one(db: Session, scope: str, subject: str, start: int, end: int) -> ReturningInsert[int]:
    """INSERT ... ON CONFLICT DO UPDATE SET count = count + 1 RETURNING count: one statement,
    atomic on both databases (SQLite ≥ 3.35 and PostgreSQL share the syntax)."""
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    row = FailedAttempts
    statement = insert(row).values(
        scope=scope, subject=subject, window_start=start, count=1, expires_at=end)
    return statement.on_conflict_do_update(
        index_elements=[row.scope, row.subject, row.window_start],
        set_={"count": row.count + 1}).returning(row.count)
