"""The login's Core statements (issue 18) read and write what the ORM did, on SQLite and
PostgreSQL: the interaction row, the person's state with their consent, a login's session,
grant, code and the interaction's end."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from idp import db
from idp.accounts import sessions as login_sessions
from idp.accounts.models import LoginSession, PrivateId
from idp.oidc import clients
from idp.oidc import consent as consents
from idp.oidc.interaction_rows import InteractionRow, read, read_alone
from idp.oidc.models import Interaction

REDIRECT = "https://rp.example/cb"


def _person(sessions: sessionmaker[Session], state: str = "active") -> str:
    with db.transaction(sessions) as session:
        person = PrivateId(state=state)
        session.add(person)
        session.flush()
        return person.id


def _client(sessions: sessionmaker[Session]) -> str:
    with db.transaction(sessions) as session:
        return clients.register(session, name="RP", redirect_uris=[REDIRECT])[0]


def test_an_interaction_is_read_with_every_column_as_stored(
        sessions: sessionmaker[Session]) -> None:
    client_id = _client(sessions)
    params = {"client_id": client_id, "scope": ["openid"], "claims": {"userinfo": {}},
              "max_age": None}
    with db.transaction(sessions) as session:
        session.add(Interaction(uid="u1", client_id=client_id, params=params, csrf_token="c",
                                started_at=10, expires_at=20, done=True, browser_hash="h",
                                login_session_id=None))
    with sessions() as session:
        assert read(session, "u1") == InteractionRow(
            uid="u1", client_id=client_id, params=params, csrf_token="c", started_at=10,
            expires_at=20, done=True, browser_hash="h", login_session_id=None)
        assert read(session, "unknown") is None
    engine = sessions.kw["bind"]  # read alone (the browser check): the same row, no Session
    with sessions() as session:
        assert read_alone(engine, "u1") == read(session, "u1")
    assert read_alone(engine, "unknown") is None


def test_the_person_is_active_and_has_consented_to_this_client_only(
        sessions: sessionmaker[Session]) -> None:
    alice, bob, carol = _person(sessions), _person(sessions), _person(sessions, "suspended")
    ours, theirs = _client(sessions), _client(sessions)
    with db.transaction(sessions) as session:
        consents.give(session, alice, ours, asked=frozenset({"name", "address"}),
                      approved=frozenset({"name"}), now=5)
        consents.give(session, bob, theirs, asked=frozenset({"name"}),
                      approved=frozenset({"name"}), now=6)
        consents.give(session, carol, ours, asked=frozenset({"name"}),
                      approved=frozenset({"name"}), now=7)
    with sessions() as session:
        assert consents.find_if_active(session, alice, ours) == (True, consents.ConsentRecord(
            frozenset({"name"}), frozenset({"name", "address"}), 5))
        assert consents.find_if_active(session, bob, ours) == (True, None)  # another client's
        assert consents.find_if_active(session, carol, ours) == (False, None)  # suspended
        assert consents.find_if_active(session, "nobody", ours) == (False, None)


def test_a_started_session_is_stored_as_answered(sessions: sessionmaker[Session]) -> None:
    alice = _person(sessions)
    with db.transaction(sessions) as session:
        started = login_sessions.start(session, private_id=alice, acr="a", amr=["hwk", "user"],
                                       lifetime=60, now=100)
    with sessions() as session:
        row = session.get_one(LoginSession, started.id)
        assert (row.private_id, row.auth_time, row.acr, row.amr, row.expires_at,
                row.ended_at) == (alice, 100, "a", ["hwk", "user"], 160, None)
        assert login_sessions.load(session, started.id, now=159) == started
