"""Entries recorded in a unit of work's own transaction (``record(..., db=session)``) are its
last writes: appended, in the order recorded, just before it commits, after its other writes
(so the head row is locked last and only until the commit); one that rolls back appends
nothing of what it recorded, a savepoint that rolls back nothing of what was recorded in it."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.orm import Session, sessionmaker

from idp import db as dbm
from idp.audit import entries
from idp.audit.append import _CHAIN_MOST
from idp.audit.log import AuditLog
from idp.audit.verify import verify_chain
from idp.errors import IdpError
from idp.oidc.models import UsedAssertion
from tests.support.transactions import statements
from tests.unit.audit.support import ORIGIN


def _audit(statement: str) -> bool:
    return "audit_head" in statement or "audit_log" in statement


def _targets(log: AuditLog) -> list[str]:
    found = log.entries(limit=None)
    verify_chain(found)
    return [entry.target or "" for entry in found]


def test_entries_are_appended_in_order_after_the_transactions_other_writes(
        sessions: sessionmaker[Session]) -> None:
    log = AuditLog(sessions, origin=ORIGIN)
    with statements(sessions.kw["bind"]) as ran, dbm.transaction(sessions) as db:
        assert log.record("login", actor=entries.system(), target="first", db=db) is None
        db.add(UsedAssertion(jti="jti-1", expires_at=1))  # an ORM write, flushed at commit
        log.record("login", actor=entries.system(), target="second", db=db)
        assert log.head()[0] == 0  # nothing appended yet
    written = [s for s in ran if s.split(None, 1)[0].upper() in ("INSERT", "UPDATE", "WITH")]
    assert "oidc_used_jtis" in written[0]
    assert len(written) > 1
    assert all(_audit(statement) for statement in written[1:])
    assert _targets(log) == ["first", "second"]


def test_many_entries_of_one_transaction_keep_one_chain(
        sessions: sessionmaker[Session]) -> None:
    """More entries than one statement appends (on PostgreSQL, ``_CHAIN_MOST`` a statement),
    with text JSON escapes and no target: in order, one chain, the hashes the verifier makes."""
    log = AuditLog(sessions, origin=ORIGIN)
    log.record("login", actor=entries.system(), target="alone")
    awkward = ["it's", 'a "quote"', "back\\slash", "日本語 ✓", "line\nbreak", ""]
    count = 2 * _CHAIN_MOST + 3
    with statements(sessions.kw["bind"]) as ran, dbm.transaction(sessions) as db:
        for number in range(count):
            log.record("login", actor=entries.system(),
                       target=None if number == 5 else f"{number}:{awkward[number % 6]}",
                       details={"n": number, "text": awkward[number % 6]}, db=db)
    found = log.entries(limit=None)
    verify_chain(found)
    assert [entry.seq for entry in found] == list(range(1, count + 2))
    assert [entry.details for entry in found[1:]] == [
        {"n": number, "text": awkward[number % 6]} for number in range(count)]
    assert found[5].target == "4:line\nbreak"
    assert found[6].target is None
    if sessions.kw["bind"].dialect.name == "postgresql":  # three statements: 8, 8 and 3 entries
        assert sum(1 for statement in ran if "audit_log" in statement) == 3


class UndoneError(Exception):
    """What rolls a test's transaction or savepoint back."""


def _recording(log: AuditLog, db: Session, target: str, refusal: BaseException) -> None:
    log.record("login", actor=entries.system(), target=target, db=db)
    raise refusal


def test_a_refusal_kept_by_the_transaction_commits_its_entry(
        sessions: sessionmaker[Session]) -> None:
    log = AuditLog(sessions, origin=ORIGIN)
    with pytest.raises(IdpError), dbm.transaction(sessions, keeping=(IdpError,)) as db:
        _recording(log, db, "refused", IdpError())
    assert _targets(log) == ["refused"]


def test_a_rollback_appends_nothing_it_recorded(sessions: sessionmaker[Session]) -> None:
    log = AuditLog(sessions, origin=ORIGIN)
    with sessions() as db:
        with pytest.raises(UndoneError), db.begin():
            _recording(log, db, "undone", UndoneError())
        log.record("login", actor=entries.system(), target="closed", db=db)
        db.close()  # neither committed nor rolled back by the caller
        with db.begin():  # the same session's next transaction: only its own entry
            log.record("login", actor=entries.system(), target="kept", db=db)
    assert _targets(log) == ["kept"]


def test_a_savepoint_that_rolls_back_drops_only_what_was_recorded_in_it(
        sessions: sessionmaker[Session]) -> None:
    log = AuditLog(sessions, origin=ORIGIN)
    with dbm.transaction(sessions) as db:
        log.record("login", actor=entries.system(), target="before", db=db)
        with pytest.raises(UndoneError), db.begin_nested():
            _recording(log, db, "undone", UndoneError())
        with db.begin_nested():  # released: its entry is the enclosing transaction's
            log.record("login", actor=entries.system(), target="released", db=db)
        assert log.head()[0] == 0
        log.record("login", actor=entries.system(), target="after", db=db)
    assert _targets(log) == ["before", "released", "after"]


def test_transactions_appending_several_entries_at_once_keep_one_chain(
        sessions: sessionmaker[Session]) -> None:
    """Threads committing two entries each (on PostgreSQL one statement) while
    others append alone: every entry once, one chain, each transaction's pair adjacent."""
    log, start = AuditLog(sessions, origin=ORIGIN), threading.Barrier(4)

    def write(thread: int) -> None:
        start.wait()
        for number in range(8):
            if thread % 2:
                log.record("login", actor=entries.system(), target=f"{thread}-{number}")
                continue
            with dbm.transaction(sessions) as db:
                for half in ("a", "b"):
                    log.record("login", actor=entries.system(),
                               target=f"{thread}-{number}{half}", db=db)

    threads = [threading.Thread(target=write, args=(thread,)) for thread in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    targets = _targets(log)
    assert len(targets) == len(set(targets)) == 2 * 8 * 2 + 2 * 8
    for position, target in enumerate(targets):
        if target.endswith("a"):
            assert targets[position + 1] == target[:-1] + "b"
