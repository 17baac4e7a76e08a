"""Failed attempts are counted per scope and subject in fixed windows shared through the
database; the lock is each process's own (idp.throttle)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from idp.throttle import FailureThrottle, TooManyAttemptsError
from idp.throttle.models import FailedAttempts
from tests.support import schema

START = 1_800_000_000.0  # a multiple of 300: a window starts here


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def _throttle(sessions: sessionmaker[Session], clock: Clock) -> FailureThrottle:
    return FailureThrottle(sessions, "client_auth", limit=3, window_seconds=300, clock=clock)


def test_the_limit_th_failure_locks_the_subject_until_the_window_ends(
        sessions: sessionmaker[Session]) -> None:
    clock = Clock()
    throttle = _throttle(sessions, clock)
    for _ in range(2):
        throttle.failed("rp-1")
    throttle.refuse_if_locked("rp-1")  # two failures: not locked yet
    clock.now += 100
    throttle.failed("rp-1")
    with pytest.raises(TooManyAttemptsError) as refused:
        throttle.refuse_if_locked("rp-1")
    assert (refused.value.status, refused.value.code) == (429, "too_many_attempts")
    assert refused.value.retry_after == "200"  # the window ends 200 s later
    clock.now = START + 300  # the next window
    throttle.refuse_if_locked("rp-1")
    throttle.failed("rp-1")  # a new window counts from one
    throttle.refuse_if_locked("rp-1")


def test_counts_are_per_subject_and_per_scope(sessions: sessionmaker[Session]) -> None:
    clock = Clock()
    throttle = _throttle(sessions, clock)
    other_scope = FailureThrottle(sessions, "passkey", limit=3, window_seconds=300, clock=clock)
    for _ in range(3):
        throttle.failed("rp-1")
    other_scope.failed("rp-1")
    throttle.refuse_if_locked("rp-2")
    other_scope.refuse_if_locked("rp-1")
    with sessions() as session:
        rows = session.execute(select(FailedAttempts.scope, FailedAttempts.subject,
                                      FailedAttempts.count, FailedAttempts.expires_at)
                               .order_by(FailedAttempts.scope)).all()
    assert [tuple(row) for row in rows] == [("client_auth", "rp-1", 3, int(START) + 300),
                                            ("passkey", "rp-1", 1, int(START) + 300)]


def test_another_process_locks_at_its_first_failure(sessions: sessionmaker[Session]) -> None:
    clock = Clock()
    first, second = _throttle(sessions, clock), _throttle(sessions, clock)
    for _ in range(3):
        first.failed("rp-1")
    second.refuse_if_locked("rp-1")  # it has not heard of the lock: it only consults itself
    second.failed("rp-1")  # ... until its own failure reads the shared count
    with pytest.raises(TooManyAttemptsError):
        second.refuse_if_locked("rp-1")


def test_a_subject_the_database_cannot_take_is_still_counted(
        sessions: sessionmaker[Session]) -> None:
    throttle = _throttle(sessions, Clock())
    odd = "nul\x00" + "x" * 1000
    for _ in range(3):
        throttle.failed(odd)
    with pytest.raises(TooManyAttemptsError):
        throttle.refuse_if_locked(odd)


def test_migration_0008_matches_the_failed_attempts_model(database_url: str) -> None:
    assert schema.differences(database_url, "failed_attempts") == []
