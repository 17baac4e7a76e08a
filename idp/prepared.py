"""Core statements compiled once per dialect and run straight on the DBAPI connection.

The token endpoint runs a handful of fixed statements, and a passkey login's requests about
twenty more (the challenge, the passkey, the anchor re-check, the session, grant and code).
Through ``Connection.execute`` each one still costs SQLAlchemy's Python per call (execution
context, events, result wrapping; with the ORM Session around it, about half of a token
request's CPU when profiled). Here SQLAlchemy still
writes the SQL and picks the paramstyle, once per dialect; the column types' own result
processors convert the rows (JSON text and 0/1 booleans on SQLite), so values come back as they
would through the ORM. Transactions come from the engine's pool, so its connect hooks (SQLite
pragmas) and checkout pre-ping still apply.

On PostgreSQL the SQL is also numbered once (``$1``, ``$2``: PostgreSQL's own placeholders) and
runs on psycopg's raw cursor, which sends it as it is. The ordinary cursor parses every
statement's ``%(name)s`` placeholders at each call, from a cache for statements under 4 KB;
the token endpoint's exchange, which writes its audit entry, is 9 KB, and its parsing cost
~0.2 ms of CPU a request.

A write whose result nobody reads can wait for the statement after it (:func:`defer_on`): on
PostgreSQL the writes of a transaction that come one after another go to the server with the
next statement on the connection, as its data-modifying WITH queries, in one round trip.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Executable, TableClause
from sqlalchemy.sql.util import find_tables

from idp import db

Processor = Callable[[Any], Any] | None


class EntryLog(Protocol):
    """Where a transaction's audit entry goes (``idp.audit.log.AuditLog``)."""

    def record_on(self, cursor: Any, dialect: str, action: str, *, actor: str,
                  target: str | None = None, outcome: str = "ok",
                  details: Mapping[str, Any] | None = None) -> Any: ...


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positions: tuple[str, ...] | None  # positional paramstyles: the names in order
    defaults: Mapping[str, Any]  # values bound in the statement itself (e.g. SET used=true)
    processors: tuple[Processor, ...]
    # The bound columns' types' own bind processors, as Connection.execute applies them (JSON to
    # text, a datetime to SQLite's text form); the binds without one are passed as given.
    binds: Mapping[str, Callable[[Any], Any]]
    source: str = ""  # PostgreSQL: the SQL as SQLAlchemy wrote it (``%(name)s``), to combine

    def params(self, values: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        merged = {**self.defaults, **values}
        for name, processor in self.binds.items():
            if name in merged:
                merged[name] = processor(merged[name])
        return merged if self.positions is None else [merged[name] for name in self.positions]

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(value if processor is None or value is None else processor(value)
                     for value, processor in zip(raw, self.processors, strict=True))


class Prepared:
    """One statement; compiled on first use with each dialect."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    @functools.cached_property
    def tables(self) -> frozenset[str]:
        """The names of the tables the statement reads or writes."""
        return frozenset(found.name for found in find_tables(
            self.statement, include_aliases=True, include_joins=True, include_crud=True)  # type: ignore[arg-type]
            if isinstance(found, TableClause))

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            found = self._by_dialect[dialect.name] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        columns = getattr(self.statement, "exported_columns", ())
        sql, positions, source = compiled.string, None, ""
        if compiled.positional:
            positions = tuple(compiled.positiontup)
        elif dialect.name == "postgresql":
            source = sql
            sql, positions = numbered(sql)
        binds = {name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                 for name, bind in compiled.binds.items()}
        return _Compiled(sql, positions,
                         {k: v for k, v in compiled.params.items() if v is not None},
                         tuple(c.type.dialect_impl(dialect).result_processor(dialect, None)
                               for c in columns),
                         {name: processor for name, processor in binds.items()
                          if processor is not None}, source)


_PYFORMAT = re.compile(r"%\(([^)]+)\)s|%%")


def numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """``sql`` with its ``%(name)s`` placeholders numbered as PostgreSQL's own (``$1``, one
    number per name, in order of first use) and ``%%`` unescaped; and the names in order."""
    names: dict[str, int] = {}

    def number(found: re.Match[str]) -> str:
        if found.group(1) is None:
            return "%"
        return f"${names.setdefault(found.group(1), len(names) + 1)}"

    return _PYFORMAT.sub(number, sql), tuple(names)


class Transaction:
    """Statements of one transaction on one pooled DBAPI connection (SQLAlchemy's pool proxy,
    whose cursors are made when first needed)."""

    def __init__(self, connection: Any, dialect: Dialect) -> None:
        self._connection = connection
        self._dialect = dialect
        self._plain: Any = None  # the DBAPI cursor of the other dialects and of record()

    def _cursor(self) -> Any:
        """The connection's DBAPI cursor (made when first needed, closed with the unit)."""
        if self._plain is None:
            self._plain = self._connection.cursor()
        return self._plain

    def _run(self, statement: Prepared, values: Mapping[str, Any]) -> tuple[Any, _Compiled]:
        compiled = statement.compiled(self._dialect)
        cursor = raw_cursor(self._connection, compiled.sql) \
            if self._dialect.name == "postgresql" else self._cursor()
        cursor.execute(compiled.sql, compiled.params(values))
        return cursor, compiled

    def first(self, statement: Prepared, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row (processed), or None: also for a statement that returns no rows."""
        cursor, compiled = self._run(statement, values)
        raw = cursor.fetchone() if _answered_rows(cursor) else None
        return None if raw is None else compiled.row(raw)

    def execute(self, statement: Prepared, values: Mapping[str, Any]) -> None:
        self._run(statement, values)

    def record(self, log: EntryLog, action: str, **entry: Any) -> None:
        """An audit entry in this transaction, committed with its writes (no commit of its own);
        the transaction's last write, since it locks the log's head until the commit."""
        log.record_on(self._cursor(), self._dialect.name, action, **entry)

    def close(self) -> None:
        if self._plain is not None:  # the raw ones stay with their connection
            self._plain.close()


def _answered_rows(cursor: Any) -> bool:
    """Whether the cursor's last statement answered rows (a SELECT, a RETURNING), which
    ``fetchone`` may read. On psycopg that is its result's status: its ``description``, which says
    the same, makes a column object per column at every call (~7 µs for a statement of eight)."""
    result: Any = getattr(cursor, "pgresult", _NOT_PSYCOPG)
    if result is _NOT_PSYCOPG:
        return cursor.description is not None
    return result is not None and result.status == _TUPLES_OK


_NOT_PSYCOPG = object()
_TUPLES_OK = 2  # psycopg.pq.ExecStatus.TUPLES_OK, libpq's PGRES_TUPLES_OK


def raw_cursor(connection: Any, sql: str) -> Any:
    """psycopg's raw cursor of the pooled ``connection`` for the statement ``sql``, which takes
    numbered placeholders and parses nothing: one per statement and DBAPI connection, kept in the
    pool's ``info`` for it, so used only while the connection is checked out, by one thread.

    One per statement because psycopg keeps a cursor's adapters (a loader per result column, a
    dumper per parameter type) only while the cursor runs the same query object again: on a
    cursor shared by several statements it made them anew at every call (~7 % of a passkey
    login's CPU in process). A cursor also costs ~5 µs to make. Each keeps its last result until
    its next run (these statements answer a row or a few); beyond ``_RAW_CURSORS_KEPT`` on a
    connection the oldest is closed."""
    dbapi = connection.dbapi_connection
    kept: _RawCursors | None = connection.info.get(_RAW_CURSORS)
    if kept is None or kept.connection is not dbapi:
        kept = connection.info[_RAW_CURSORS] = _RawCursors(dbapi)
    found = kept.by_sql.get(sql)
    if found is None or found.closed:
        import psycopg

        while len(kept.by_sql) >= _RAW_CURSORS_KEPT:
            kept.by_sql.pop(next(iter(kept.by_sql))).close()
        found = kept.by_sql[sql] = psycopg.RawCursor(dbapi)
    return found


@dataclass
class _RawCursors:
    """The raw cursors of one DBAPI connection, by statement, oldest first."""

    connection: Any
    by_sql: dict[str, Any] = field(default_factory=dict)


_RAW_CURSORS = "idp_raw_cursors"
_RAW_CURSORS_KEPT = 64


@contextmanager
def transaction(engine: Engine) -> Iterator[Transaction]:
    """Commit when the block ends normally, roll back on any error; the connection goes back to
    the pool either way."""
    connection = db.raw_connection(engine)
    try:
        unit = Transaction(connection, engine.dialect)
        try:
            yield unit
        finally:
            unit.close()
        connection.commit()
    except BaseException as error:
        translated = _translated(engine, connection, error)
        if translated is None or not translated.connection_invalidated:
            connection.rollback()
        if translated is not None:
            raise translated from error
        raise
    finally:
        connection.close()


def _translated(engine: Engine, connection: Any, error: BaseException) -> DBAPIError | None:
    """A driver's error as SQLAlchemy's Connection would raise it (None for other errors), so
    callers meet one family: a value the database refuses is a ``DataError`` (answered 400).

    A dead connection (the pool has no pre-ping, idp/db.py) renews the pool and comes back
    with ``connection_invalidated`` (answered 503, "try again"); nothing was committed."""
    dialect = engine.dialect
    if not isinstance(error, dialect.loaded_dbapi.Error):
        return None
    lost = dialect.is_disconnect(error, connection.dbapi_connection, None)
    if lost:
        connection.invalidate(error)
        engine.dispose()  # the worker's other pooled connections died with this one
    translated = DBAPIError.instance(None, None, error, dialect.loaded_dbapi.Error,
                                     connection_invalidated=lost)
    return translated if isinstance(translated, DBAPIError) else None


def read_one(engine: Engine, statement: Prepared, values: Mapping[str, Any]) -> \
        tuple[Any, ...] | None:
    """The first row of one SELECT, outside a transaction: no BEGIN and ROLLBACK round trips.

    pysqlite already runs a SELECT outside any transaction (it begins one only before a write);
    other drivers are switched to autocommit for the statement.
    """
    return _single_statement(engine, statement, values)


def write_one(engine: Engine, statement: Prepared, values: Mapping[str, Any]) -> \
        tuple[Any, ...] | None:
    """The first row of one data-modifying statement (None without RETURNING), committed on
    its own.

    On PostgreSQL it runs in autocommit: the server commits it, one round trip in all (no BEGIN,
    no COMMIT). pysqlite opens a transaction before a write, committed here. The statement
    returns at most one row (fetched before the commit).
    """
    return _single_statement(engine, statement, values, commit=True)


def _single_statement(engine: Engine, statement: Prepared, values: Mapping[str, Any],
                      commit: bool = False) -> tuple[Any, ...] | None:
    connection = db.raw_connection(engine)
    dialect, dbapi_connection = engine.dialect, connection.dbapi_connection
    switch = dialect.name != "sqlite" and dbapi_connection is not None
    try:
        if switch:
            dialect.set_isolation_level(dbapi_connection, "AUTOCOMMIT")  # type: ignore[arg-type]
        unit = Transaction(connection, dialect)
        try:
            row = unit.first(statement, values)
            if commit:
                connection.commit()  # pysqlite's transaction; nothing to do in autocommit
            return row
        finally:
            unit.close()
            if switch:
                dialect.reset_isolation_level(dbapi_connection)  # type: ignore[arg-type]
    except Exception as error:
        translated = _translated(engine, connection, error)
        if translated is not None:
            raise translated from error
        raise
    finally:
        connection.close()


def first_on(connection: Connection, statement: Prepared, values: Mapping[str, Any]) -> \
        tuple[Any, ...] | None:
    """The first row of ``statement`` run on the DBAPI cursor of a SQLAlchemy ``connection``,
    in its transaction (or in autocommit): for a unit of work that also runs ORM or Core
    statements. Writes deferred on the connection (:func:`defer_on`) go first, with it when they
    can. A driver's error is handed to SQLAlchemy, so it is raised (and a lost connection
    invalidated) as ``Connection.execute`` would raise it."""
    return _on(connection, statement, values, fetch=True)


def execute_on(connection: Connection, statement: Prepared, values: Mapping[str, Any]) -> None:
    """``statement`` (no rows wanted) on ``connection``'s DBAPI cursor, as :func:`first_on`."""
    _on(connection, statement, values, fetch=False)


def defer_on(connection: Connection, statement: Prepared, values: Mapping[str, Any]) -> None:
    """``statement``, a write whose rows and row count nobody reads, in ``connection``'s
    transaction: sent with the next statement on the connection.

    On PostgreSQL the writes deferred one after another wait on the connection, and go to the
    server as data-modifying WITH queries of the next statement run here (one round trip for
    all); before a statement that reads or writes one of their tables, before any statement
    SQLAlchemy runs, before the commit and before a savepoint they are sent as a statement of
    their own (``idp.db``); a rollback drops them. The database sees the statements in the order
    they were made, but for one difference: a write and the statement it rides with see the
    same snapshot, so they share no table. An error in a deferred write is raised by the
    statement it went with. Elsewhere (SQLite, a connection in autocommit) it runs at once.
    """
    compiled = statement.compiled(connection.dialect)
    if not compiled.source.startswith(_WRITES) or not db.defers_writes(connection) or \
            getattr(connection.connection.dbapi_connection, "autocommit", True):
        execute_on(connection, statement, values)
        return
    writes = db.deferred_writes(connection)
    if isinstance(writes, _Deferred) and writes.tables & statement.tables:
        db.send_deferred(connection)  # one statement writes a table once
        writes = None
    if not isinstance(writes, _Deferred):
        writes = _Deferred()
        db.keep_deferred(connection, writes)
    writes.writes.append((statement, dict(values)))
    writes.tables |= statement.tables


_WRITES = ("INSERT ", "UPDATE ", "DELETE ")


@dataclass
class _Deferred:
    """Writes waiting on one connection, in the order they were made (``idp.db.DeferredWrites``)."""

    writes: list[tuple[Prepared, dict[str, Any]]] = field(default_factory=list)
    tables: frozenset[str] = frozenset()

    def send(self, connection: Connection) -> None:
        *before, (last, values) = self.writes
        _on(connection, last, values, fetch=False, riding=before)


def _on(connection: Connection, statement: Prepared, values: Mapping[str, Any], *,
        fetch: bool, riding: Sequence[tuple[Prepared, Mapping[str, Any]]] | None = None) -> \
        tuple[Any, ...] | None:
    if riding is None:
        riding = _riding(connection, statement)
    if riding:
        statement, values = _combined(tuple(part for part, _ in riding), statement,
                                      connection.dialect), _merged(riding, values)
    unit = Transaction(connection.connection, connection.dialect)
    try:
        if fetch:
            return unit.first(statement, values)
        unit.execute(statement, values)
        return None
    except connection.dialect.loaded_dbapi.Error as error:
        connection._handle_dbapi_exception(  # raises the wrapped error
            error, statement.compiled(connection.dialect).sql, dict(values), None, None)
        raise
    finally:
        unit.close()


def _riding(connection: Connection, statement: Prepared) -> \
        Sequence[tuple[Prepared, Mapping[str, Any]]]:
    """The writes deferred on ``connection`` that go with ``statement`` (taken from it); those
    that cannot are sent first."""
    writes = db.take_deferred(connection)
    if writes is None:
        return ()
    if not isinstance(writes, _Deferred) or writes.tables & statement.tables or \
            statement.compiled(connection.dialect).source.startswith("WITH RECURSIVE"):
        writes.send(connection)
        return ()
    return writes.writes


def _merged(riding: Sequence[tuple[Prepared, Mapping[str, Any]]],
            values: Mapping[str, Any]) -> dict[str, Any]:
    merged = {f"w{index}_{name}": value for index, (_, part) in enumerate(riding)
              for name, value in part.items()}
    return merged | dict(values)


class _Combined(Prepared):
    """Writes as the WITH queries of a statement (PostgreSQL), compiled from their SQL."""

    def __init__(self, parts: tuple[Prepared, ...], primary: Prepared) -> None:
        super().__init__(primary.statement)
        self.parts, self.primary = parts, primary

    def _compile(self, dialect: Dialect) -> _Compiled:
        queries, defaults, binds = [], {}, {}
        for index, part in enumerate(self.parts):
            compiled, prefix = part.compiled(dialect), f"w{index}_"
            queries.append(f"w{index} AS ({_prefixed(compiled.source, prefix)})")
            defaults.update({prefix + name: value for name, value in compiled.defaults.items()})
            binds.update({prefix + name: bind for name, bind in compiled.binds.items()})
        primary = self.primary.compiled(dialect)
        head, withs = primary.source, ", ".join(queries)
        source = f"WITH {withs}, {head[5:]}" if head.startswith("WITH ") else f"WITH {withs} {head}"
        sql, positions = numbered(source)
        return _Compiled(sql, positions, defaults | dict(primary.defaults),
                         primary.processors, binds | dict(primary.binds), source)


def _prefixed(source: str, prefix: str) -> str:
    """``source`` with its ``%(name)s`` placeholders renamed ``%(<prefix>name)s``."""
    def rename(found: re.Match[str]) -> str:
        return "%%" if found.group(1) is None else f"%({prefix}{found.group(1)})s"

    return _PYFORMAT.sub(rename, source)


@functools.lru_cache(maxsize=256)
def _combined(parts: tuple[Prepared, ...], primary: Prepared, dialect: Dialect) -> Prepared:
    """The statement of ``parts`` riding with ``primary`` (one per sequence of statements)."""
    combined = _Combined(parts, primary)
    combined.compiled(dialect)
    return combined
