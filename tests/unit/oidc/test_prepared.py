"""Prepared statements on the DBAPI connection: same values as SQLAlchemy, one transaction."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    literal_column,
    select,
    update,
)

from idp.db import make_engine
from idp.prepared import Prepared, numbered, read_one, transaction, write_one

METADATA = MetaData()
ROWS = Table("rows", METADATA, Column("id", String(10), primary_key=True),
             Column("data", JSON), Column("flag", Boolean), Column("n", Integer))
INSERT = Prepared(insert(ROWS))
FLIP = Prepared(update(ROWS).where(ROWS.c.id == bindparam("b_id"), ROWS.c.flag.is_(False))
                .values(flag=True).returning(ROWS.c.data, ROWS.c.flag))
READ = Prepared(select(ROWS.c.data, ROWS.c.flag, ROWS.c.n).where(ROWS.c.id == bindparam("b_id")))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    METADATA.create_all(engine)
    yield engine
    METADATA.drop_all(engine)
    engine.dispose()


def _add(engine: Engine, row_id: str) -> None:
    with transaction(engine) as tx:
        tx.execute(INSERT, {"id": row_id, "data": None, "flag": False, "n": 1})


def test_json_and_boolean_columns_come_back_as_python_values(engine: Engine) -> None:
    with transaction(engine) as tx:
        tx.execute(INSERT, {"id": "a", "data": {"k": [1, "x"]}, "flag": False, "n": 7})
    with transaction(engine) as tx:
        assert tx.first(READ, {"b_id": "a"}) == ({"k": [1, "x"]}, False, 7)


def test_values_are_bound_as_connection_execute_binds_them(engine: Engine) -> None:
    """The column types' bind processors apply (JSON to text, booleans), so a row written by a
    prepared statement reads back through SQLAlchemy as one it wrote itself."""
    with transaction(engine) as tx:
        tx.execute(INSERT, {"id": "c", "data": ["x", {"y": None}], "flag": True, "n": 2})
    with engine.connect() as connection:
        assert connection.execute(select(ROWS.c.data, ROWS.c.flag, ROWS.c.n)
                                  .where(ROWS.c.id == "c")).one() == (["x", {"y": None}], True, 2)


def test_a_conditional_update_returns_its_row_once(engine: Engine) -> None:
    _add(engine, "b")
    with transaction(engine) as tx:
        assert tx.first(FLIP, {"b_id": "b"}) == (None, True)
    with transaction(engine) as tx:
        assert tx.first(FLIP, {"b_id": "b"}) is None


def test_an_error_inside_the_block_rolls_the_whole_transaction_back(engine: Engine) -> None:
    _add(engine, "c")
    def flip_then_fail() -> None:
        with transaction(engine) as tx:
            assert tx.first(FLIP, {"b_id": "c"}) is not None
            raise RuntimeError("after the write")

    with pytest.raises(RuntimeError, match="after the write"):
        flip_then_fail()
    with transaction(engine) as tx:
        assert tx.first(READ, {"b_id": "c"}) == (None, False, 1)


def test_write_one_commits_its_statement_on_its_own(engine: Engine) -> None:
    _add(engine, "d")
    assert write_one(engine, FLIP, {"b_id": "d"}) == (None, True)
    assert write_one(engine, FLIP, {"b_id": "d"}) is None
    assert read_one(engine, READ, {"b_id": "d"}) == (None, True, 1)


def test_a_transaction_after_write_one_is_atomic_again(engine: Engine) -> None:
    """write_one's autocommit ends with it: the pooled connection is transactional again."""
    _add(engine, "e")
    _add(engine, "f")
    write_one(engine, FLIP, {"b_id": "e"})

    def flip_then_fail() -> None:
        with transaction(engine) as tx:
            assert tx.first(FLIP, {"b_id": "f"}) is not None
            raise RuntimeError("after the write")

    with pytest.raises(RuntimeError, match="after the write"):
        flip_then_fail()
    assert read_one(engine, READ, {"b_id": "f"}) == (None, False, 1)


def test_placeholders_are_numbered_once_per_name_in_order_of_first_use() -> None:
    sql, names = numbered("SELECT %(b)s, %(a)s, %(b)s, '100%%' WHERE x = %(param_1)s")
    assert sql == "SELECT $1, $2, $1, '100%' WHERE x = $3"
    assert names == ("b", "a", "param_1")
    assert numbered("SELECT 1") == ("SELECT 1", ())


PERCENT = Prepared(select(ROWS.c.id, literal_column("'100%'"))
                   .where(ROWS.c.n == bindparam("b_n"), ROWS.c.n < bindparam("b_n") + 1))


def test_a_repeated_name_and_a_percent_sign_run_alike_on_both_databases(
        engine: Engine) -> None:
    _add(engine, "q")
    assert read_one(engine, PERCENT, {"b_n": 1}) == ("q", "100%")
    assert read_one(engine, PERCENT, {"b_n": 2}) is None


def test_on_postgresql_psycopg_parses_no_statement_of_this_module(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SQL is numbered once ($1), so psycopg sends it as it is: its placeholder parser
    (per call, and uncached beyond 4 KB) never runs for these statements."""
    if engine.dialect.name != "postgresql":
        pytest.skip("psycopg's parser is PostgreSQL's")
    from psycopg import _queries

    parsed: list[bytes] = []
    for name in ("_query2pg", "_query2pg_nocache"):
        real = getattr(_queries, name)
        monkeypatch.setattr(_queries, name, lambda query, *rest, real=real: (
            parsed.append(query), real(query, *rest))[1])
    _add(engine, "p")
    with transaction(engine) as tx:
        assert tx.first(READ, {"b_id": "p"}) == (None, False, 1)
    assert write_one(engine, FLIP, {"b_id": "p"}) == (None, True)
    assert parsed == []
    with engine.connect() as connection:  # SQLAlchemy's own statements are parsed as before
        connection.execute(select(ROWS.c.id).where(ROWS.c.id == bindparam("x")), {"x": "p"})
    assert parsed

def test_first_answers_none_for_a_statement_without_rows(engine: Engine) -> None:
    with transaction(engine) as tx:
        assert tx.first(INSERT, {"id": "w", "data": None, "flag": False, "n": 3}) is None
        assert tx.first(READ, {"b_id": "nobody"}) is None
        assert tx.first(FLIP, {"b_id": "w"}) == (None, True)


def test_on_postgresql_rows_are_told_by_the_result_not_psycopg_description(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """psycopg builds ``description`` anew at each call (a column object per column): the
    result's status says the same for less."""
    if engine.dialect.name != "postgresql":
        pytest.skip("psycopg's description is PostgreSQL's")
    import psycopg
    from psycopg.pq import ExecStatus

    from idp import prepared

    assert prepared._TUPLES_OK == ExecStatus.TUPLES_OK
    _add(engine, "x")

    def described(_: object) -> None:
        raise AssertionError("description was built")

    monkeypatch.setattr(psycopg.RawCursor, "description", property(described))
    with transaction(engine) as tx:
        assert tx.first(READ, {"b_id": "x"}) == (None, False, 1)
        assert tx.first(INSERT, {"id": "y", "data": None, "flag": False, "n": 4}) is None
    assert write_one(engine, FLIP, {"b_id": "x"}) == (None, True)
    assert read_one(engine, READ, {"b_id": "nobody"}) is None


def test_on_postgresql_each_statement_keeps_its_cursor_and_its_adapters(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """psycopg keeps a cursor's loaders and dumpers only while it runs the same query again:
    each statement has a raw cursor of its own on a connection, so statements that alternate
    make no adapters anew; a connection keeps a bounded number of them."""
    if engine.dialect.name != "postgresql":
        pytest.skip("psycopg's cursors are PostgreSQL's")
    from idp import prepared

    _add(engine, "x")
    seen: list[tuple[str, int, int]] = []
    with transaction(engine) as tx:
        for _ in range(3):
            for statement in (READ, FLIP):
                cursor, compiled = tx._run(statement, {"b_id": "x"})
                seen.append((compiled.sql, id(cursor), id(cursor._tx)))
    by_statement = {sql: {(c, t) for s, c, t in seen if s == sql} for sql, _, _ in seen}
    assert all(len(kept) == 1 for kept in by_statement.values())  # the same cursor, adapters
    assert len({cursor for cursors in by_statement.values() for cursor, _ in cursors}) == 2

    monkeypatch.setattr(prepared, "_RAW_CURSORS_KEPT", 2)
    with engine.connect() as connection:
        pooled = connection.connection
        first = prepared.raw_cursor(pooled, "SELECT 1")
        prepared.raw_cursor(pooled, "SELECT 2")
        third = prepared.raw_cursor(pooled, "SELECT 3")  # the oldest is closed for it
        assert first.closed
        assert not third.closed
        assert prepared.raw_cursor(pooled, "SELECT 3") is third
        assert prepared.raw_cursor(pooled, "SELECT 1") is not first
