"""Counting the transactions a piece of code makes, as the database sees them.

Counted at the driver, so every path is seen (the ORM, Core, and the raw cursors of
``idp.prepared`` and ``idp.audit``): on SQLite the statements the library really runs (its
trace callback shows pysqlite's implicit ``BEGIN`` and the ``COMMIT``/``ROLLBACK`` of a transaction
that was open), on PostgreSQL psycopg's ``commit``/``rollback`` of a connection inside a
transaction. A statement in autocommit is no transaction here: it has no BEGIN and no COMMIT.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event


@contextmanager
def on_connections(engine: Engine, start: Callable[[Any], None],
                   stop: Callable[[Any], None]) -> Iterator[None]:
    """``start(dbapi_connection)`` on every connection checked out of ``engine``'s pool inside
    the block, ``stop(dbapi_connection)`` when it is checked in (a driver trace on and off)."""
    def checkout(dbapi_connection: Any, *_: Any) -> None:
        start(dbapi_connection)

    def checkin(dbapi_connection: Any, *_: Any) -> None:
        stop(dbapi_connection)

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    try:
        yield
    finally:
        event.remove(engine, "checkout", checkout)
        event.remove(engine, "checkin", checkin)


@contextmanager
def counting(engine: Engine) -> Iterator[Counter[str]]:
    """``{"commit": n, "rollback": m}``: the transactions ``engine``'s connections ended inside
    the block."""
    ended: Counter[str] = Counter()
    if engine.dialect.name == "sqlite":
        def traced(statement: str) -> None:
            word = statement.split(None, 1)[0].upper() if statement.strip() else ""
            if word in ("COMMIT", "ROLLBACK"):
                ended[word.lower()] += 1

        with on_connections(engine, lambda c: c.set_trace_callback(traced),
                            lambda c: c.set_trace_callback(None)):
            yield ended
        return

    import psycopg
    from psycopg.pq import TransactionStatus

    originals = {name: getattr(psycopg.Connection, name) for name in ("commit", "rollback")}

    def ending(name: str) -> Any:
        def wrapper(connection: Any) -> Any:
            if connection.info.transaction_status != TransactionStatus.IDLE:
                ended[name] += 1
            return originals[name](connection)
        return wrapper

    for name in originals:
        setattr(psycopg.Connection, name, ending(name))
    try:
        yield ended
    finally:
        for name, original in originals.items():
            setattr(psycopg.Connection, name, original)


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The statements ``engine``'s connections ran inside the block, in order, as the driver
    ran them (the raw cursors' too), with ``BEGIN``, ``COMMIT`` and ``ROLLBACK`` where a
    transaction began and ended: on SQLite pysqlite's own (its trace callback), on PostgreSQL
    psycopg's implicit BEGIN before a statement outside a transaction (not in autocommit) and
    its commit or rollback of an open one. A statement in autocommit has no BEGIN nor COMMIT."""
    ran: list[str] = []
    if engine.dialect.name == "sqlite":
        with on_connections(engine, lambda c: c.set_trace_callback(ran.append),
                            lambda c: c.set_trace_callback(None)):
            yield ran
        return

    import psycopg
    from psycopg.pq import TransactionStatus

    def idle(connection: Any) -> bool:
        return bool(connection.info.transaction_status == TransactionStatus.IDLE)

    patched = {(psycopg.Cursor, name): getattr(psycopg.Cursor, name)
               for name in ("execute", "executemany")}
    patched |= {(psycopg.Connection, name): getattr(psycopg.Connection, name)
                for name in ("commit", "rollback")}

    def running(original: Any) -> Any:
        def wrapper(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            if idle(cursor.connection) and not cursor.connection.autocommit:
                ran.append("BEGIN")
            ran.append(query if isinstance(query, str) else str(query))
            return original(cursor, query, *args, **kwargs)
        return wrapper

    def ending(original: Any, word: str) -> Any:
        def wrapper(connection: Any) -> Any:
            if not idle(connection):
                ran.append(word)
            return original(connection)
        return wrapper

    for (owner, name), original in patched.items():
        setattr(owner, name, ending(original, name.upper()) if owner is psycopg.Connection
                else running(original))
    try:
        yield ran
    finally:
        for (owner, name), original in patched.items():
            setattr(owner, name, original)
