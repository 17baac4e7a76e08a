"""/authorize's writes, as the driver runs them (issue 18): without a login session its one
write, the interaction's INSERT, commits by itself (``idp.prepared.write_one``); with a session
it stays one transaction (a code may be issued: grant, code and the interaction's end commit
together)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from idp import db
from idp.app import services_of
from idp.oidc.models import Interaction
from tests.support.transactions import statements
from tests.unit.oidc.conftest import Rp


def _interactions(app: Flask) -> int:
    with services_of(app).sessions() as session:
        return session.scalar(select(func.count()).select_from(Interaction)) or 0


def _words(ran: list[str]) -> list[str]:
    """The statements' first words, without SQLite's PRAGMAs (SQLAlchemy resets a connection's
    isolation level by one when an autocommit session gives it back)."""
    words = [statement.split(None, 1)[0].upper() for statement in ran if statement.strip()]
    return [word for word in words if word != "PRAGMA"]


def test_without_a_session_the_interaction_is_one_statement_in_no_transaction(
        db_app: Flask, db_rp: Rp) -> None:
    db_rp.authorize()  # the client is read once, then cached
    before = _interactions(db_app)
    with statements(services_of(db_app).engine) as ran:
        location, _ = db_rp.authorize()
    assert "/interaction/" in location
    if services_of(db_app).engine.dialect.name == "postgresql":
        assert _words(ran) == ["INSERT"], ran  # no BEGIN, no COMMIT: it committed by itself
    else:  # pysqlite begins a transaction before a write: the INSERT's own, committed at once
        assert _words(ran) == ["BEGIN", "INSERT", "COMMIT"], ran
    assert _interactions(db_app) == before + 1


def test_with_a_session_authorize_is_one_transaction(db_app: Flask, db_rp: Rp) -> None:
    db_rp.login()
    db_rp.authorize()  # the client is read once, then cached
    with statements(services_of(db_app).engine) as ran:
        db_rp.authorize()  # consent not given yet: an interaction, in a transaction
    words = _words(ran)
    # The session's reads, then the INSERT, in one transaction (on SQLite pysqlite begins it
    # at the first write: its reads need none).
    assert words.count("BEGIN") == 1, ran
    assert words[-1] == "COMMIT", ran
    assert words[words.index("BEGIN") + 1:-1].count("INSERT") == 1, ran


def test_the_one_write_is_durable_for_the_next_request(db_app: Flask, db_rp: Rp) -> None:
    location, _ = db_rp.authorize()
    state = db_rp.interaction(location)  # read back by the next request's browser check
    assert state["prompt"] == "login"
    with db.transaction(services_of(db_app).sessions) as session:
        assert session.get(Interaction, state["uid"]) is not None
