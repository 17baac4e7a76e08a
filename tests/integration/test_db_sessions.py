"""Single-read sessions run their statement in autocommit: no transaction is left open."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from idp import db


def _in_transaction(dbapi_connection: Any) -> bool:
    info = getattr(dbapi_connection, "info", None)
    if info is not None and hasattr(info, "transaction_status"):  # psycopg
        return bool(info.transaction_status.name != "IDLE")
    return bool(dbapi_connection.in_transaction)  # sqlite3


def test_a_single_read_leaves_no_transaction_open_and_a_normal_session_does(
        database_url: str) -> None:
    engine = db.make_engine(database_url)
    sessions = db.make_sessionmaker(engine)
    try:
        with db.single_read_sessions(sessions)() as session:
            assert session.execute(text("SELECT 1")).scalar_one() == 1
            assert not _in_transaction(session.connection().connection.dbapi_connection)
        with sessions() as session:
            session.execute(text("SELECT count(*) FROM oidc_interactions"))
            assert _in_transaction(session.connection().connection.dbapi_connection) == (
                not database_url.startswith("sqlite"))  # pysqlite begins at the first write
    finally:
        engine.dispose()
