"""SQLAlchemy 2 engine, sessions and the declarative base; schema changes go through Alembic."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Connection, Dialect, Engine, ExceptionContext
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import PoolProxiedConnection

from idp.errors import DatabaseUnavailableError, IdpError, UnstorableValueError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Stable constraint names, so migrations read the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, enforced foreign keys and NORMAL sync."""
    if url.startswith("sqlite"):
        # Keep pysqlite's own transaction control: it sends BEGIN just before a transaction's
        # first INSERT/UPDATE/DELETE, and reads before it run outside the transaction. Every
        # write unit of work therefore starts with its write, which waits its turn for WAL's
        # one writer (busy_timeout). An explicit deferred BEGIN at session start would make
        # read-then-write units fail at once with "database is locked" under two workers;
        # BEGIN IMMEDIATE on every session (reads too) queued every request behind one writer
        # and still ended in "database is locked" (tests/unit/oidc/test_sqlite_contention.py
        # fails with either; it passes as is).
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # No pool pre-ping: it cost a round trip (SELECT 1) at every checkout — several per request,
    # ~20% of a passkey login's time in process (docs/benchmarks.md, "Passkey login"). Instead
    # disconnects are handled optimistically (SQLAlchemy "Dealing with Disconnects"): a statement
    # that meets a dead connection fails its request once, and SQLAlchemy then invalidates every
    # pooled connection of that worker, so the next requests reconnect (a request that finds
    # the server refusing connections, e.g. restarting, is answered the same: 503). Connections
    # are also replaced after half an hour, before an idle-connection timeout on the way can cut
    # them.
    kwargs.setdefault("pool_recycle", 1800)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "handle_error", _connect_failure_is_disconnect)
    _send_deferred_writes_first(engine)
    return engine


# -- deferred writes ------------------------------------------------------------------------------
class DeferredWrites(Protocol):
    """Writes kept on a connection to be sent with its next statement (``idp.prepared.defer_on``:
    on PostgreSQL, as data-modifying WITH queries of that statement)."""

    def send(self, connection: Connection) -> None:
        """Send them now, as a statement of their own."""


_DEFERRED: weakref.WeakKeyDictionary[Connection, DeferredWrites] = weakref.WeakKeyDictionary()
_DEFERRING: weakref.WeakSet[Engine] = weakref.WeakSet()


def defers_writes(connection: Connection) -> bool:
    """Whether writes may wait on ``connection`` for its next statement: its engine sends them
    first whatever that statement is (a PostgreSQL engine of :func:`make_engine`)."""
    return connection.engine in _DEFERRING


def deferred_writes(connection: Connection) -> DeferredWrites | None:
    return _DEFERRED.get(connection)


def keep_deferred(connection: Connection, writes: DeferredWrites) -> None:
    _DEFERRED[connection] = writes


def take_deferred(connection: Connection) -> DeferredWrites | None:
    """The writes waiting on ``connection``, no longer waiting: the caller sends them."""
    return _DEFERRED.pop(connection, None)


def send_deferred(connection: Connection) -> None:
    """Send the writes waiting on ``connection`` now (before a statement that does not take
    them along, before a commit or a savepoint)."""
    writes = _DEFERRED.pop(connection, None)
    if writes is not None:
        writes.send(connection)


def _send_deferred_writes_first(engine: Engine) -> None:
    """Any statement SQLAlchemy runs on a connection (savepoints included: what a rolled-back
    savepoint held is rolled back by the server) and its commit come after the writes deferred
    on it, as if they had been sent when deferred; a rollback drops them."""
    def before(connection: Connection, *_: Any) -> None:
        if connection in _DEFERRED:
            send_deferred(connection)

    def drop(connection: Connection) -> None:
        _DEFERRED.pop(connection, None)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "commit", before)
    event.listen(engine, "rollback", drop)
    _DEFERRING.add(engine)


def _cannot_connect(dialect: Dialect, error: BaseException) -> bool:
    """A server that refuses or drops new connections: down, restarting ("the database system is
    starting up", "shutting down"), or out of connection slots. SQLAlchemy's psycopg dialect
    recognises only connections that broke in use, so a request arriving while PostgreSQL
    restarts would otherwise end in a 500 (tests/integration/test_db_restart.py)."""
    return dialect.name != "sqlite" and isinstance(error, dialect.loaded_dbapi.OperationalError)


def _connect_failure_is_disconnect(context: ExceptionContext) -> None:
    """``handle_error``: a failure to connect (no connection yet) is answered as a lost one."""
    if context.connection is None and _cannot_connect(context.dialect,
                                                      context.original_exception):
        context.is_disconnect = True


def raw_connection(engine: Engine) -> PoolProxiedConnection:
    """A pooled DBAPI connection. ``engine.raw_connection()`` lets a failure to connect escape
    as the driver's own exception; here it is raised as ``engine.connect()`` raises it: a
    DBAPIError, marked ``connection_invalidated`` when the server cannot be reached (503 "try
    again", see refusal_for)."""
    try:
        return engine.raw_connection()
    except engine.dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(
            None, None, error, engine.dialect.loaded_dbapi.Error,
            connection_invalidated=_cannot_connect(engine.dialect, error)) from error


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs at checkpoints, not at every commit: the database cannot be
    # corrupted, and a crash of the process loses nothing, but an OS crash or power loss may lose
    # the last commits (sqlite.org "pragma.html#pragma_synchronous"). A code redemption lost that
    # way vanishes with the tokens it issued, and the code (≤ 60 s) could be redeemed once more
    # by whoever holds it, its verifier and the client's credentials: the risk that ruled out
    # PostgreSQL's synchronous_commit=off (docs/benchmarks.md), accepted here because it needs
    # the machine itself to fail, where PostgreSQL's asynchronous commit is lost with a crash of
    # its server process. SQLite is the embedded default; production runs on PostgreSQL with
    # durable commits. This takes an fsync off every token request.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def single_read_sessions(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions for units of exactly one read statement, run in autocommit.

    A transaction costs two round trips of its own (BEGIN, and ROLLBACK at the end) on top of
    the statement: ~0.35 ms of a ~0.8 ms primary-key read on PostgreSQL on the benchmark machine
    (docs/benchmarks.md, "Passkey login"). A single statement is atomic without them. Never use
    these for several statements that must see one snapshot, nor for writes.
    """
    engine = factory.kw["bind"]
    return sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"),
                        expire_on_commit=False)


def single_statement_sessions(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions in autocommit for units whose every statement stands alone: each commits by
    itself, durably (one round trip on PostgreSQL, no BEGIN nor COMMIT), so only where no two
    statements must commit together or see one snapshot (a passkey challenge's INSERT, and the
    occasional purge of expired ones before it)."""
    return single_read_sessions(factory)


def refusal_for(error: DBAPIError) -> IdpError | None:
    """The 4xx/5xx a database error becomes when it is not the IdP's fault, or None (a bug: 500).

    A value from the request the database refuses (a NUL character on PostgreSQL) is a 400. A
    dead connection (the pool has no pre-ping, see make_engine) was rolled back and the pool
    renewed, and a server that cannot be reached (restarting) may be back in a moment: 503, try
    again. Logged here, once, for the Flask app and the token endpoint.
    """
    if isinstance(error, DataError):
        log.warning("refused a value the database cannot take: %s", type(error.orig).__name__)
        return UnstorableValueError()
    if error.connection_invalidated:
        cause = (str(error.orig).strip().splitlines() or [type(error.orig).__name__])[0]
        log.warning("database connection lost or refused (%s); answered 503, the pool "
                    "reconnects", cause)
        return DatabaseUnavailableError()
    return None


@contextmanager
def transaction(factory: sessionmaker[Session], *,
                keeping: tuple[type[BaseException], ...] = ()) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error — but an error of
    ``keeping`` (a refusal that must not undo what was recorded before it: a passkey login's
    spent challenge, its anchor re-check, their audit entries) commits what came before it, and
    is raised then."""
    with factory() as session:
        kept: BaseException | None = None
        with session.begin():
            try:
                yield session
            except keeping as refused:
                kept = refused
        if kept is not None:
            raise kept


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Apply migrations up to ``revision`` (every head by default)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)
