"""Deferred writes (``idp.prepared.defer_on``): what the database ends up with is what running
each write at once gives, on both databases; on PostgreSQL they ride with the next statement."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from idp.audit.log import AuditLog
from idp.audit.verify import verify_chain
from idp.db import make_engine, transaction, upgrade
from idp.prepared import Prepared, defer_on, first_on

METADATA = MetaData()
PARENTS = Table("d_parents", METADATA, Column("id", String(10), primary_key=True),
                Column("n", Integer, nullable=False))
CHILDREN = Table("d_children", METADATA, Column("id", String(10), primary_key=True),
                 Column("parent_id", String(10), ForeignKey("d_parents.id"), nullable=False))
OTHER = Table("d_other", METADATA, Column("id", String(10), primary_key=True),
              Column("n", Integer, nullable=False))
ADD_PARENT, ADD_CHILD, ADD_OTHER = (Prepared(insert(table)) for table in (PARENTS, CHILDREN, OTHER))
BUMP = Prepared(update(PARENTS).where(PARENTS.c.id == bindparam("b_id"))
                .values(n=PARENTS.c.n + bindparam("by")))
TAKE_OTHER = Prepared(delete(OTHER).where(OTHER.c.id == bindparam("b_id")).returning(OTHER.c.n))
READ_PARENT = Prepared(select(PARENTS.c.n).where(PARENTS.c.id == bindparam("b_id")))
PERCENT = Prepared(update(PARENTS).where(PARENTS.c.id == bindparam("b_id"))
                   .values(n=bindparam("n")).where(PARENTS.c.id.like("%")))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)  # the audit log's tables, for the entries test
    engine = make_engine(database_url)
    METADATA.create_all(engine)
    yield engine
    METADATA.drop_all(engine)
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine)


@pytest.fixture
def sent(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements the driver sent (PostgreSQL: psycopg's cursors, raw ones included)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("statements ride together on PostgreSQL only")
    import psycopg

    seen: list[str] = []
    real = psycopg.Cursor.execute

    def execute(self: Any, query: Any, *rest: Any, **kwargs: Any) -> Any:
        seen.append(str(query))
        return real(self, query, *rest, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", execute)
    return seen


def _parents(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return dict(connection.execute(select(PARENTS.c.id, PARENTS.c.n)).all())


def _children(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(select(CHILDREN.c.id)).scalars())


def test_deferred_writes_commit_with_their_transaction(
        engine: Engine, sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as db:
        defer_on(db.connection(), ADD_PARENT, {"id": "p", "n": 1})
        defer_on(db.connection(), ADD_CHILD, {"id": "c", "parent_id": "p"})  # its parent's FK
    assert _parents(engine) == {"p": 1}
    assert _children(engine) == ["c"]


def test_on_postgresql_they_ride_with_the_next_statement_in_one_round_trip(
        engine: Engine, sessions: sessionmaker[Session], sent: list[str]) -> None:
    with transaction(sessions) as db:
        defer_on(db.connection(), ADD_OTHER, {"id": "o", "n": 5})
    with transaction(sessions) as db:
        connection = db.connection()
        sent.clear()
        defer_on(connection, ADD_PARENT, {"id": "p", "n": 1})
        defer_on(connection, ADD_CHILD, {"id": "c", "parent_id": "p"})
        assert sent == []  # nothing sent yet
        assert first_on(connection, TAKE_OTHER, {"b_id": "o"}) == (5,)  # its own row back
        assert len(sent) == 1
        assert sent[0].startswith("WITH w0 AS (INSERT INTO d_parents")
    assert _parents(engine) == {"p": 1}
    assert _children(engine) == ["c"]


def test_a_statement_on_a_deferred_table_sees_the_write(
        engine: Engine, sessions: sessionmaker[Session], sent: list[str]) -> None:
    """A write and the statement it rides with see one snapshot: so a statement on one of the
    deferred writes' tables goes after them, as its own statement."""
    with transaction(sessions) as db:
        connection = db.connection()
        sent.clear()
        defer_on(connection, ADD_PARENT, {"id": "p", "n": 1})
        assert first_on(connection, READ_PARENT, {"b_id": "p"}) == (1,)
        assert len(sent) == 2


def test_one_statement_writes_a_table_once(
        engine: Engine, sessions: sessionmaker[Session], sent: list[str]) -> None:
    """Two writes of one row in one statement would be unpredictable: the second write of a
    table sends the first."""
    with transaction(sessions) as db:
        connection = db.connection()
        defer_on(connection, ADD_PARENT, {"id": "p", "n": 1})
        sent.clear()
        defer_on(connection, BUMP, {"b_id": "p", "by": 2})
        assert len(sent) == 1
        defer_on(connection, BUMP, {"b_id": "p", "by": 3})
    assert _parents(engine) == {"p": 6}


def test_sqlalchemy_statements_and_the_orm_see_the_deferred_writes(
        engine: Engine, sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as db:
        defer_on(db.connection(), ADD_PARENT, {"id": "p", "n": 1})
        assert db.execute(select(PARENTS.c.n)).scalar_one() == 1
        defer_on(db.connection(), BUMP, {"b_id": "p", "by": 1})
        assert db.execute(text("SELECT n FROM d_parents WHERE id = 'p'")).scalar_one() == 2
        defer_on(db.connection(), BUMP, {"b_id": "p", "by": 1})
    assert _parents(engine) == {"p": 3}


def test_a_rollback_drops_the_deferred_writes(
        engine: Engine, sessions: sessionmaker[Session]) -> None:
    def refused() -> None:
        with transaction(sessions) as db:
            defer_on(db.connection(), ADD_PARENT, {"id": "p", "n": 1})
            raise LookupError

    with pytest.raises(LookupError):
        refused()
    with sessions() as db, db.begin():  # the pooled connection's next transaction
        defer_on(db.connection(), ADD_OTHER, {"id": "o", "n": 1})
    assert _parents(engine) == {}
    with engine.connect() as connection:
        assert connection.execute(select(OTHER.c.id)).scalars().all() == ["o"]


def test_a_rollback_on_a_connection_that_goes_on_drops_them(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.begin()
        defer_on(connection, ADD_PARENT, {"id": "p", "n": 1})
        connection.rollback()
        with connection.begin():
            defer_on(connection, ADD_OTHER, {"id": "o", "n": 1})
    assert _parents(engine) == {}


def test_a_savepoint_keeps_what_came_before_it(
        engine: Engine, sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as db:
        defer_on(db.connection(), ADD_PARENT, {"id": "p", "n": 1})
        savepoint = db.begin_nested()
        defer_on(db.connection(), ADD_OTHER, {"id": "o", "n": 1})
        savepoint.rollback()
        nested = db.begin_nested()
        defer_on(db.connection(), BUMP, {"b_id": "p", "by": 4})
        nested.commit()
    assert _parents(engine) == {"p": 5}
    with engine.connect() as connection:
        assert connection.execute(select(OTHER.c.id)).scalars().all() == []


def test_an_error_in_a_deferred_write_fails_the_transaction(
        engine: Engine, sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as db:
        defer_on(db.connection(), ADD_PARENT, {"id": "p", "n": 1})

    def orphan() -> None:
        with transaction(sessions) as db:
            defer_on(db.connection(), ADD_OTHER, {"id": "o", "n": 1})
            defer_on(db.connection(), ADD_CHILD, {"id": "c", "parent_id": "nobody"})  # no parent
            first_on(db.connection(), READ_PARENT, {"b_id": "p"})

    with pytest.raises(IntegrityError):
        orphan()
    assert _children(engine) == []
    with engine.connect() as connection:
        assert connection.execute(select(OTHER.c.id)).scalars().all() == []  # rolled back


def test_a_percent_sign_and_repeated_names_survive_the_combination(
        engine: Engine, sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as db:
        defer_on(db.connection(), ADD_PARENT, {"id": "p", "n": 1})
        defer_on(db.connection(), ADD_OTHER, {"id": "p", "n": 2})  # same names, other table
    with transaction(sessions) as db:
        defer_on(db.connection(), PERCENT, {"b_id": "p", "n": 9})
        defer_on(db.connection(), ADD_CHILD, {"id": "c", "parent_id": "p"})
    assert _parents(engine) == {"p": 9}
    assert _children(engine) == ["c"]


def test_audit_entries_come_after_the_deferred_writes(
        engine: Engine, sessions: sessionmaker[Session]) -> None:
    log = AuditLog(sessions, origin="https://idp.example/audit")
    with transaction(sessions) as db:
        defer_on(db.connection(), ADD_PARENT, {"id": "p", "n": 1})
        log.record("test.deferred", actor="system", db=db)
        log.record("test.deferred", actor="system", details={"n": 2}, db=db)
    assert _parents(engine) == {"p": 1}
    assert [entry.action for entry in log.entries()] == ["test.deferred"] * 2
    assert verify_chain(log.scan()).size == 2
