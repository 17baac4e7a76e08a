"""The query the admin API and UI filter the log with: by seq or time (from, to), actor, action,
outcome, limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from idp.audit.log import AuditLog
from tests.unit.audit.support import ORIGIN


def test_entries_filter_by_seq_time_actor_action_and_limit(
        sessions: sessionmaker[Session]) -> None:
    log = AuditLog(sessions, origin=ORIGIN)
    before = datetime.now(UTC) - timedelta(seconds=1)
    for actor, action in [("person:a", "login"), ("person:b", "login"),
                          ("person:a", "consent.given"), ("rp:c", "token.issued"),
                          ("person:a", "consent.withdrawn")]:
        log.record(action, actor=actor)

    def seqs(**filters: object) -> list[int]:
        return [e.seq for e in log.entries(**filters)]  # type: ignore[arg-type]

    assert seqs() == [1, 2, 3, 4, 5]
    assert seqs(actor="person:a") == [1, 3, 5]
    assert seqs(action="consent.") == [3, 5]
    assert seqs(action="consent") == []  # exact unless it ends in "."
    assert seqs(action="login", actor="person:b") == [2]
    assert seqs(since=4) == [4, 5]
    assert seqs(since=before) == [1, 2, 3, 4, 5]
    assert seqs(since=datetime.now(UTC) + timedelta(seconds=5)) == []
    assert seqs(limit=2) == [1, 2]
    assert seqs(limit=2, newest_first=True) == [5, 4]
    assert [e.seq for e in log.scan(since=3)] == [3, 4, 5]


def test_entries_filter_by_outcome_and_until_a_seq_or_a_time(
        sessions: sessionmaker[Session]) -> None:
    log = AuditLog(sessions, origin=ORIGIN)
    for outcome in ("ok", "refused", "ok"):
        log.record("login", actor="person:a", outcome=outcome)
    cut = datetime.now(UTC)
    log.record("token.refused", actor="anonymous", outcome="refused")

    def seqs(**filters: object) -> list[int]:
        return [e.seq for e in log.entries(**filters)]  # type: ignore[arg-type]

    assert seqs(outcome="refused") == [2, 4]
    assert seqs(outcome="refused", until=3) == [2]
    assert seqs(until=cut) == [1, 2, 3]
    assert seqs(since=2, until=3) == [2, 3]
    assert seqs(outcome="refused", action="token.") == [4]
