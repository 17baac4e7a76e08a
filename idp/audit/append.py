"""One append to the chain, in as few round trips as the database allows.

Appends are ordered by the head row (``audit_head``, id 1), locked by every append until its
transaction ends: on PostgreSQL ``SELECT ... FOR UPDATE`` (a second worker or node waits, then
reads the head the first one left: READ COMMITTED re-reads a row it waited for); on SQLite the
first statement is a write, so it takes the database's one write lock. No two entries get one
seq, none is lost, the chain never forks (tests/unit/audit/test_concurrency.py).

So an append is its transaction's last write: the head is then locked last (every transaction
takes its rows, then the head: none waits for a row while holding the head another one wants)
and only until the commit. ``AuditLog.record(..., db=session)`` makes it so for every unit of
work on a Session, whatever order it records in: its entries are appended, in order, as the
transaction commits (``idp.audit.log``); ``record_on``'s raw-cursor callers append last.

The hash needs the previous hash, known only once the head is locked. Rather than a round trip
to fetch it, the entry's canonical JSON is split around its two unknowns (``prev_hash`` and
``seq``): PostgreSQL joins the parts and hashes them itself (``sha256``, PostgreSQL 11+) in the
one statement that locks the head, moves it and inserts the entry, so an append is one
statement (in autocommit, the commit included). The result is byte for byte the canonical JSON
the verifier recomputes. SQLite, in process, does the same in three short statements.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from idp.audit.entries import Entry, canonical

# Run on the DBAPI cursor of the SQLAlchemy connection (its transaction, or autocommit): through
# ``Connection.execute`` each statement cost ~0.1 ms of SQLAlchemy's Python more, ~1 ms of CPU
# per login at three entries (bench/audit.py). Written with sqlite3's named parameters; the
# PostgreSQL one is turned into psycopg's below.
_POSTGRES_NAMED = """WITH old AS (SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE),
new AS (SELECT old.seq + 1 AS seq, old.hash AS prev_hash,
               encode(sha256(convert_to(CAST(:p1 AS text) || old.hash || CAST(:p2 AS text)
                                        || CAST(old.seq + 1 AS text) || CAST(:p3 AS text),
                                        'UTF8')), 'hex') AS hash
        FROM old),
moved AS (UPDATE audit_head SET seq = new.seq, hash = new.hash FROM new
          WHERE audit_head.id = 1)
INSERT INTO audit_log (seq, time, actor, action, target, outcome, request_id, details,
                       prev_hash, hash)
SELECT new.seq, :time, :actor, :action, :target, :outcome, :request_id, :details,
       new.prev_hash, new.hash FROM new
RETURNING seq, prev_hash, hash"""
_POSTGRES = re.sub(r":(\w+)", r"%(\1)s", _POSTGRES_NAMED)
_ADVANCE = "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash"
_INSERT = ("INSERT INTO audit_log (seq, time, actor, action, target, outcome, request_id, "
           "details, prev_hash, hash) VALUES (:seq, :time, :actor, :action, :target, "
           ":outcome, :request_id, :details, :prev_hash, :hash)")
_SET_HEAD = "UPDATE audit_head SET hash = :hash WHERE id = 1"


@dataclass(frozen=True)
class Parts:
    """The canonical JSON of an entry as ``p1 + prev_hash + p2 + str(seq) + p3``."""

    p1: str
    p2: str
    p3: str

    @classmethod
    def of(cls, body: dict[str, Any]) -> Parts:
        """``body``: every field but seq, prev_hash and hash."""
        mark = secrets.token_hex(16)
        prev, seq = f"<{mark}:prev>", f"<{mark}:seq>"
        whole = canonical({**body, "prev_hash": prev, "seq": seq}).decode("utf-8")
        p1, rest = whole.split(prev)
        p2, p3 = rest.split(f'"{seq}"')
        return cls(p1, p2, p3)

    def hash(self, seq: int, prev_hash: str) -> str:
        return hashlib.sha256(f"{self.p1}{prev_hash}{self.p2}{seq}{self.p3}"
                              .encode()).hexdigest()


def append(connection: Connection, body: dict[str, Any]) -> Entry:
    """Appends ``body`` (every field but seq, prev_hash, hash) in ``connection``'s transaction
    (or as one autocommit statement on PostgreSQL)."""
    dialect = connection.dialect.name
    entry: Entry = _on_cursor(connection, body, lambda cursor: append_with(cursor, dialect, body))
    return entry


def append_all(connection: Connection, bodies: Sequence[dict[str, Any]]) -> None:
    """Appends ``bodies`` in order in ``connection``'s transaction, as its last writes. On
    PostgreSQL in one round trip when there are several: psycopg's ``executemany`` pipelines
    the statements, each locking and reading the head as the one before left it (one
    transaction), so the chain is the one sequential appends make."""
    dialect = connection.dialect.name

    def run(cursor: Any) -> None:
        if dialect == "postgresql" and len(bodies) > 1:
            cursor.executemany(_POSTGRES, [_postgres_params(body) for body in bodies])
            return
        for body in bodies:
            append_with(cursor, dialect, body)

    if bodies:
        _on_cursor(connection, bodies[0], run)


def _on_cursor(connection: Connection, body: dict[str, Any], run: Callable[[Any], Any]) -> Any:
    """``run(cursor)`` on a DBAPI cursor of ``connection``, its driver errors SQLAlchemy's."""
    try:
        cursor = connection.connection.cursor()
        try:
            return run(cursor)
        finally:
            cursor.close()
    except connection.dialect.loaded_dbapi.Error as error:
        # The raw cursor bypasses SQLAlchemy's wrapping: hand the driver's error to it, so a
        # lost connection is invalidated and surfaces as the DBAPIError the IdP answers 503 for
        # (idp.db.refusal_for), never as a bare driver error (a 500).
        connection._handle_dbapi_exception(error, "audit append", _row(body), None, None)
        raise  # not reached: _handle_dbapi_exception raises the wrapped error


def append_with(cursor: Any, dialect: str, body: dict[str, Any]) -> Entry:
    """Appends ``body`` through ``cursor``, a DBAPI cursor in a transaction its caller commits
    (``dialect``: SQLAlchemy's dialect name), as the transaction's last write: the head stays
    locked until the commit. The caller translates driver errors (``idp.oidc.prepared`` does)."""
    if dialect == "postgresql":
        cursor.execute(_POSTGRES, _postgres_params(body))
        seq, prev_hash, hash_ = _one(cursor)
    else:
        parts, row = Parts.of(body), _row(body)
        cursor.execute(_ADVANCE)
        seq, prev_hash = _one(cursor)
        hash_ = parts.hash(seq, prev_hash)
        cursor.execute(_INSERT, {**row, "seq": seq, "prev_hash": prev_hash, "hash": hash_})
        cursor.execute(_SET_HEAD, {"hash": hash_})
    return Entry(seq=seq, prev_hash=prev_hash, hash=hash_, **body)


def _postgres_params(body: dict[str, Any]) -> dict[str, Any]:
    parts = Parts.of(body)
    return {**_row(body), "p1": parts.p1, "p2": parts.p2, "p3": parts.p3}


def _row(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "details": canonical(body["details"]).decode("utf-8")}


def _one(cursor: Any) -> Any:
    """The row the statement returned (the head always exists: migration 0017)."""
    return cursor.fetchone()
