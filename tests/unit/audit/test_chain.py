"""The hash chain: intact logs verify; an edited, removed or reordered entry is named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from idp.audit import checkpoints, entries
from idp.audit.entries import GENESIS, Entry
from idp.audit.errors import BrokenChainError
from idp.audit.log import AuditLog
from idp.audit.verify import verify_chain
from idp.request_context import bind_request_id
from tests.unit.audit.support import ORIGIN, filled, keys, tamper


def test_entries_chain_from_genesis_and_carry_the_request_id(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    request_id = bind_request_id("req-42")
    log = AuditLog(sessions, origin=ORIGIN)
    first = log.record("consent.given", actor=entries.person("pid-1"), target="client-1",
                       details={"scope": "openid"})
    second = log.record("consent.withdrawn", actor=entries.person("pid-1"), target="client-1")
    assert (first.seq, first.prev_hash) == (1, GENESIS)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert [e.request_id for e in log.entries()] == [request_id, request_id]
    assert log.head() == (2, second.hash)
    chain = checkpoints.verify_log(log, keys(tmp_path / "keys"))
    assert (chain.first, chain.size, chain.head) == (1, 2, second.hash)


def test_the_hash_is_sha256_over_the_canonical_json_of_the_entry(
        sessions: sessionmaker[Session]) -> None:
    """Anyone can recompute a hash from an export with a JSON canonicaliser (RFC 8785)."""
    import hashlib

    entry = filled(sessions, 1).entries()[0]
    exported = entry.to_json()
    del exported["hash"]
    canonical = json.dumps(exported, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False).encode()
    assert hashlib.sha256(canonical).hexdigest() == entry.hash


def test_entries_rows_cannot_be_updated_or_deleted_through_the_database(
        sessions: sessionmaker[Session]) -> None:
    filled(sessions, 2)
    for statement in ("UPDATE audit_log SET outcome = 'refused' WHERE seq = 1",
                      "DELETE FROM audit_log WHERE seq = 2"):
        with pytest.raises(DBAPIError, match="append-only"), sessions() as db, db.begin():
            db.execute(text(statement))


@pytest.mark.parametrize(("statements", "bad_seq", "problem"), [
    (["UPDATE audit_log SET outcome = 'refused' WHERE seq = 3"], 3, "edited"),
    (["UPDATE audit_log SET details = '{\"method\":\"card\",\"level\":2}' WHERE seq = 2"], 2,
     "edited"),
    (["DELETE FROM audit_log WHERE seq = 3"], 3, "missing"),
    (["UPDATE audit_log SET seq = 100 WHERE seq = 2", "UPDATE audit_log SET seq = 2 WHERE seq = 4",
      "UPDATE audit_log SET seq = 4 WHERE seq = 100"], 2, "does not name"),
    (["DELETE FROM audit_log WHERE seq = 5"], 5, "removed from the end"),
])
def test_a_tampered_log_fails_at_its_first_bad_entry(
        sessions: sessionmaker[Session], tmp_path: Path, statements: list[str], bad_seq: int,
        problem: str) -> None:
    log = filled(sessions, 5)
    signer = keys(tmp_path / "keys")
    checkpoints.verify_log(log, signer)
    tamper(sessions, *statements)
    with pytest.raises(BrokenChainError, match=problem) as raised:
        checkpoints.verify_log(log, signer)
    assert raised.value.seq == bad_seq


def test_a_rehashed_rewrite_passes_the_chain_but_not_the_checkpoint(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    """Whoever recomputes every hash after an edit fools the chain alone; a stored or held
    checkpoint still catches it."""
    log = filled(sessions, 4)
    signer = keys(tmp_path / "keys")
    checkpoints.create(log, signer)
    original = log.entries()
    rewritten = _rehashed(original, edit_seq=2)
    tamper(sessions, "DELETE FROM audit_log",
           *(_insert(e) for e in rewritten),
           f"UPDATE audit_head SET hash = '{rewritten[-1].hash}' WHERE id = 1")  # noqa: S608
    assert verify_chain(log.scan()).size == 4  # the chain alone is consistent
    with pytest.raises(BrokenChainError, match="checkpoint") as raised:
        checkpoints.verify_log(log, signer)
    assert raised.value.seq == 4


def test_secrets_are_refused_whatever_the_nesting(sessions: sessionmaker[Session]) -> None:
    log = AuditLog(sessions, origin=ORIGIN)
    for details in ({"client_secret": "s"}, {"pin": "1234"}, {"inner": {"access_token": "t"}},
                    {"list": [{"code_verifier": "v"}]}, {"latency": 0.5}):
        with pytest.raises((ValueError, TypeError)):
            log.record("token.issued", actor="system", details=details)
    assert log.head()[0] == 0


def _rehashed(original: list[Entry], *, edit_seq: int) -> list[Entry]:
    prev, out = GENESIS, []
    for entry in original:
        body = entry.body() | {"prev_hash": prev}
        if entry.seq == edit_seq:
            body["outcome"] = "refused"
        prev = entries.digest(body)
        out.append(Entry(**body, hash=prev))
    return out


def _insert(entry: Entry) -> str:
    def quoted(value: object) -> str:
        return "NULL" if value is None else "'" + str(value).replace("'", "''") + "'"

    details = json.dumps(dict(entry.details), sort_keys=True, separators=(",", ":"))
    return ("INSERT INTO audit_log (seq, time, actor, action, target, outcome, request_id, "  # noqa: S608
            f"details, prev_hash, hash) VALUES ({entry.seq}, {quoted(entry.time)}, "
            f"{quoted(entry.actor)}, {quoted(entry.action)}, {quoted(entry.target)}, "
            f"{quoted(entry.outcome)}, {quoted(entry.request_id)}, {quoted(details)}, "
            f"{quoted(entry.prev_hash)}, {quoted(entry.hash)})")


def test_a_driver_error_on_an_append_surfaces_as_the_database_error_the_idp_maps(
        sessions: sessionmaker[Session]) -> None:
    """The append runs on the raw DBAPI cursor; a driver error (here a connection closed under
    it) must come out as SQLAlchemy's DBAPIError, which idp.db.refusal_for turns into a 503 for
    a lost connection, never as a bare driver error (a 500 at the token endpoint). In a
    session's transaction the entry is appended as it commits: the commit raises it."""
    log = AuditLog(sessions, origin=ORIGIN)
    with sessions() as db:
        log.record("token.issued", actor="system", db=db)
        db.connection().connection.dbapi_connection.close()  # type: ignore[union-attr]
        with pytest.raises(DBAPIError) as raised:
            db.commit()
    assert raised.value.connection_invalidated  # the pool replaces it


def test_a_lone_surrogate_a_request_presented_is_recorded_as_text_and_verifies(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    """A JSON "\\ud800" escape decodes to a lone surrogate, which neither UTF-8 nor the database
    holds: the entry records U+FFFD in its place, on both databases, and the chain verifies."""
    log = AuditLog(sessions, origin=ORIGIN)
    entry = log.record("consent.given", actor=entries.anonymous(), target="rp\ud800",
                       details={"claims": ["name", "\udfff"], "\ud800key": "x\ud83dy"})
    assert entry.target == "rp\ufffd"
    assert entry.details == {"claims": ["name", "\ufffd"], "\ufffdkey": "x\ufffdy"}
    assert [e.details for e in log.entries()] == [entry.details]
    checkpoints.verify_log(log, keys(tmp_path / "keys"))
