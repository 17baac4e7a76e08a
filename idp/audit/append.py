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

import functools
import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Connection,
    Text,
    bindparam,
    cast,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
    true,
    update,
)

from idp.audit.entries import Entry, canonical
from idp.audit.models import AuditHead, AuditRow
from idp.db import Base, send_deferred
from idp.prepared import numbered, raw_cursor

# Run on the DBAPI cursor of the SQLAlchemy connection (its transaction, or autocommit): through
# ``Connection.execute`` each statement cost ~0.1 ms of SQLAlchemy's Python more, ~1 ms of CPU
# per login at three entries (bench/audit.py). SQLite's are written with sqlite3's named
# parameters; PostgreSQL's one-entry append is ``_appending(1)`` (below), in psycopg's.
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
    PostgreSQL several are one statement (up to ``_CHAIN_MOST`` a statement): each entry's hash
    is made on the one before it, and the head is locked once and moved to the last, so the
    chain is the one sequential appends make."""
    dialect = connection.dialect.name

    def run(cursor: Any) -> None:
        if dialect == "postgresql" and len(bodies) > 1:
            for start in range(0, len(bodies), _CHAIN_MOST):
                _append_chained(connection.connection, bodies[start:start + _CHAIN_MOST])
            return
        for body in bodies:
            append_with(cursor, dialect, body)

    if bodies:
        _on_cursor(connection, bodies[0], run)


# Entries appended by one statement (PostgreSQL): the CTE of entry n reads the seq and hash of
# entry n - 1 (the first, the locked head's), PostgreSQL hashes each, and the head moves once, to
# the last. Several entries of a transaction were psycopg's ``executemany`` of the one-entry
# statement: a pipeline, whose Python cost more CPU than the second statement (a passkey login
# appends two entries; docs/benchmarks.md, "Fewer sessions, switches and statements").
_CHAIN_MOST = 8
_ROW = ("time", "actor", "action", "target", "outcome", "request_id", "details")


def _appending(count: int) -> str:
    """The statement appending ``count`` entries in order, with psycopg's named parameters
    (``e<n>_<name>``: ``_postgres_params``); it returns each entry's seq, prev_hash and hash."""
    # Only CTE names and this module's column names are written into the SQL; every value is a
    # parameter.
    links, before = ["old AS (SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE)"], "old"
    for n in range(count):
        links.append(
            f"e{n} AS (SELECT {before}.seq + 1 AS seq, {before}.hash AS prev_hash, "  # noqa: S608
            f"encode(sha256(convert_to(CAST(%(e{n}_p1)s AS text) || {before}.hash || "
            f"CAST(%(e{n}_p2)s AS text) || CAST({before}.seq + 1 AS text) || "
            f"CAST(%(e{n}_p3)s AS text), 'UTF8')), 'hex') AS hash FROM {before})")
        before = f"e{n}"
    links.append(f"moved AS (UPDATE audit_head SET seq = {before}.seq, hash = {before}.hash "  # noqa: S608
                 f"FROM {before} WHERE audit_head.id = 1)")
    rows = " UNION ALL ".join(
        f"SELECT e{n}.seq, " + ", ".join(  # noqa: S608
            f"CAST(%(e{n}_{name})s AS text)" for name in _ROW)
        + f", e{n}.prev_hash, e{n}.hash FROM e{n}" for n in range(count))
    return (f"WITH {', '.join(links)} INSERT INTO audit_log (seq, {', '.join(_ROW)}, "
            f"prev_hash, hash) {rows} RETURNING seq, prev_hash, hash")


_POSTGRES = _appending(1)


@functools.lru_cache(maxsize=_CHAIN_MOST)
def _chained(count: int) -> tuple[str, tuple[str, ...]]:
    """``_appending(count)`` numbered for psycopg's raw cursor (``$1``: nothing parsed at each
    run), and its parameters' names in order."""
    return numbered(_appending(count))


def _append_chained(connection: Any, bodies: Sequence[dict[str, Any]]) -> None:
    """On the pooled DBAPI ``connection``, through its raw cursor for the statement."""
    sql, names = _chained(len(bodies))
    values = _postgres_params(bodies)
    raw_cursor(connection, sql).execute(sql, [values[name] for name in names])


def _on_cursor(connection: Connection, body: dict[str, Any], run: Callable[[Any], Any]) -> Any:
    """``run(cursor)`` on a DBAPI cursor of ``connection``, its driver errors SQLAlchemy's."""
    try:
        send_deferred(connection)  # the transaction's deferred writes come before its entries
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
        cursor.execute(_POSTGRES, _postgres_params([body]))
        seq, prev_hash, hash_ = _one(cursor)
    else:
        parts, row = Parts.of(body), _row(body)
        cursor.execute(_ADVANCE)
        seq, prev_hash = _one(cursor)
        hash_ = parts.hash(seq, prev_hash)
        cursor.execute(_INSERT, {**row, "seq": seq, "prev_hash": prev_hash, "hash": hash_})
        cursor.execute(_SET_HEAD, {"hash": hash_})
    return Entry(seq=seq, prev_hash=prev_hash, hash=hash_, **body)


def _postgres_params(bodies: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The parameters of ``_appending(len(bodies))``."""
    values: dict[str, Any] = {}
    for n, body in enumerate(bodies):
        parts = Parts.of(body)
        values |= {f"e{n}_{name}": value for name, value in
                   {**_row(body), "p1": parts.p1, "p2": parts.p2, "p3": parts.p3}.items()}
    return values


def _row(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "details": canonical(body["details"]).decode("utf-8")}


def _one(cursor: Any) -> Any:
    """The row the statement returned (the head always exists: migration 0017)."""
    return cursor.fetchone()


# -- an entry appended by the statement it is about (PostgreSQL) ------------------------------
# The token endpoint redeems a code and stores its tokens in one autocommit statement; its entry
# names values only that statement knows (the grant's person, acr, amr, scope). So the statement
# appends the entry itself: Python writes the entry's canonical JSON with a *slot* where each of
# those values goes, and the statement puts the value's JSON in the slot's place (``to_json``
# escapes a string exactly as ``json.dumps(..., ensure_ascii=False)`` does: the quote, the
# backslash and the control characters, \b \f \n \r \t by name and the rest as lower-case
# \u00XX). A slot holds a random part made per process, so no value a request carries can
# name one. The head is locked, moved and the entry inserted as ``_POSTGRES`` does, in the
# same statement: one round trip, one commit, for the tokens and their entry.

_SLOT_MARK = secrets.token_hex(16)
_HEAD, _LOG = (Base.metadata.tables[model.__tablename__] for model in (AuditHead, AuditRow))


def slot(name: str) -> str:
    """A value of an entry's body that the statement fills in (``filled``)."""
    return f"<{_SLOT_MARK}:{name}>"


def sql_text(value: str) -> ColumnElement[str]:
    """``value`` written into the statement as a string literal (not a parameter each time it
    runs: a statement's constants, compiled once per process)."""
    if "\\" in value or "\x00" in value:
        raise ValueError("a statement's text constants hold no backslash and no NUL")
    return literal_column("'" + value.replace("'", "''") + "'", Text)


def filled(template: ColumnElement[str], whole: dict[str, ColumnElement[str]],
           within: dict[str, ColumnElement[str]] | None = None) -> ColumnElement[str]:
    """``template`` with its slots filled: a slot that is a whole JSON value (``"<slot>"``,
    quotes included) by the JSON text ``whole`` gives for it (NULL is written ``null``), a slot
    inside a string by the text ``within`` gives for it (a template without a slot is left as
    it is)."""
    for name, value in whole.items():
        template = func.replace(template, sql_text(f'"{slot(name)}"'),
                                func.coalesce(value, sql_text("null")))
    for name, value in (within or {}).items():
        template = func.replace(template, sql_text(slot(name)), value)
    return template


def json_text(value: ColumnElement[Any]) -> ColumnElement[str]:
    """The JSON of a column's value, as text (NULL for NULL)."""
    return cast(func.to_json(value), Text)


def json_string_inside(value: ColumnElement[str]) -> ColumnElement[str]:
    """A string column's JSON without its quotes: what fills a slot inside a JSON string."""
    written = json_text(value)
    return func.substr(written, 2, func.length(written) - 2)


# Every class of character JSON escaping treats apart: the control characters, the quote, the
# backslash, and what either encoder might one day escape (the solidus, HTML's characters, DEL,
# non-ASCII, the line separators JavaScript dislikes, a non-character, an astral one).
_PROBE = ("".join(chr(c) for c in range(1, 0x20)) + "\"\\/<>&'\x7f\u00e9\u65e5\u2028\u2029"
          "\ufffe\U0001f600")


def writes_json_as_python(connection: Connection) -> bool:
    """Whether PostgreSQL writes JSON strings byte for byte as the canonical encoding does
    (``to_json`` against ``json.dumps``): the condition for a statement to fill an entry's
    slots. Checked once per engine before the first such statement; were a PostgreSQL version
    ever to escape differently, its entries would not verify, so the caller appends them from
    Python instead."""
    written = connection.execute(select(json_text(literal(_PROBE, Text)))).scalar_one()
    return bool(written == canonical(_PROBE).decode("utf-8"))


def appended_by(entry: CTE) -> tuple[CTE, CTE]:
    """The CTEs appending the row of ``entry`` (at most one: columns ``action``, ``target``,
    ``outcome``, ``details`` and ``p1``, ``p2``, ``p3`` of its canonical JSON) in the statement
    that makes it; its time, actor and request id are the parameters ``a_time``, ``a_actor`` and
    ``a_request_id``. The head is locked only when there is an entry, and only once ``entry`` was
    made (the statement's other writes first, as every append: rows, then the head)."""
    old = select(_HEAD.c.seq, _HEAD.c.hash).where(
        _HEAD.c.id == 1, exists(select(entry.c.action))).with_for_update().cte("audit_old")
    seq = old.c.seq + 1
    hashed = func.encode(func.sha256(func.convert_to(
        entry.c.p1 + old.c.hash + entry.c.p2 + cast(seq, Text) + entry.c.p3, sql_text("UTF8"))),
        sql_text("hex"))
    # entry LEFT JOIN the head: were the head's row missing, the entry's seq would be NULL and
    # its INSERT fail (NOT NULL), undoing the whole statement, rather than skip the entry.
    new = select(seq.label("seq"), old.c.hash.label("prev_hash"), hashed.label("hash"),
                 entry.c.action, entry.c.target, entry.c.outcome, entry.c.details).select_from(
        entry.outerjoin(old, true())).cte("audit_new")
    moved = update(_HEAD).where(_HEAD.c.id == 1).values(seq=new.c.seq, hash=new.c.hash) \
        .cte("audit_moved")
    columns = ("seq", "time", "actor", "action", "target", "outcome", "request_id", "details",
               "prev_hash", "hash")
    inserted = insert(_LOG).from_select(columns, select(
        new.c.seq, ENTRY_TIME, bindparam("a_actor", type_=Text), new.c.action, new.c.target,
        new.c.outcome, ENTRY_REQUEST_ID, new.c.details, new.c.prev_hash,
        new.c.hash)).cte("audit_appended")
    return moved, inserted


# The entry's time and request id: parameters of each run, and slots of the templates (which
# then depend only on who asks: made once, ``template_params``).
ENTRY_TIME = bindparam("a_time", type_=Text)
ENTRY_REQUEST_ID = bindparam("a_request_id", type_=Text)
RUN_SLOTS = {"time": json_text(ENTRY_TIME), "request_id": json_text(ENTRY_REQUEST_ID)}


def template_params(templates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The parameters naming ``templates`` (bodies with slots, their time and request id the
    slots ``time`` and ``request_id``) for an entry CTE choosing among them by name:
    ``t_<name>_action``, ``_target``, ``_outcome``, ``_details``, ``_p1``, ``_p2``, ``_p3``;
    and ``a_actor``, which they share."""
    actors = {body["actor"] for body in templates.values()}
    if len(actors) != 1:
        raise ValueError("the entries of one statement have one actor")
    params: dict[str, Any] = {"a_actor": actors.pop()}
    for name, body in templates.items():
        if (body["time"], body["request_id"]) != (slot("time"), slot("request_id")):
            raise ValueError("a template's time and request id are the run's slots")
        parts = Parts.of(body)
        params |= {f"t_{name}_p1": parts.p1, f"t_{name}_p2": parts.p2, f"t_{name}_p3": parts.p3,
                   f"t_{name}_details": canonical(body["details"]).decode("utf-8"),
                   f"t_{name}_action": body["action"], f"t_{name}_target": body["target"],
                   f"t_{name}_outcome": body["outcome"]}
    return params
