"""The code exchange and refresh rotation in one statement on PostgreSQL that appends its audit
entry too (one round trip, one commit), and today's refusals on both databases: a refused code stays
consumed and gets no token, a replay revokes the code's tokens (RFC 6749 §4.1.2, §4.1.3;
RFC 7636 §4.6)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from psycopg.pq import Trace
from sqlalchemy import Engine, select, update

from idp import db
from idp.app import services_of
from idp.audit import append
from idp.audit.entries import Entry
from idp.audit.verify import verify_chain
from idp.oidc.models import AuthorizationCode, Grant, Token
from idp.oidc.tokens import digest, statement_entries
from tests.support.transactions import on_connections
from tests.unit.oidc.conftest import REDIRECT, Rp, pkce

ON_POSTGRESQL = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)


@contextmanager
def protocol_trace(engine: Engine) -> Iterator[list[str]]:
    """libpq's trace of every message on the connections checked out of the pool meanwhile
    (filled in when the block ends): what really went over the wire, BEGIN and COMMIT too."""
    lines: list[str] = []

    def start(dbapi_connection: Any) -> None:
        dbapi_connection.pgconn.trace(sink.fileno())
        dbapi_connection.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)

    with tempfile.TemporaryFile("w+") as sink:
        try:
            with on_connections(engine, start, lambda c: c.pgconn.untrace()):
                yield lines
        finally:
            sink.seek(0)
            lines.extend(sink.read().splitlines())


def _round_trips(lines: list[str]) -> list[str]:
    """The server's ReadyForQuery messages, one per round trip: 'I' idle, 'T' in a
    transaction."""
    return [line.split("\t")[-1].strip() for line in lines if "\tReadyForQuery\t" in line]


def _statements(lines: list[str]) -> list[str]:
    """The SQL texts sent (their first line: the SQL's own newlines split the trace's line)."""
    return [line.split("\t", 3)[3].strip() for line in lines
            if line.startswith("F\t") and line.split("\t")[2] in ("Parse", "Query")]


def _traced_token_request(rp: Rp, **form: str) -> tuple[Any, list[str]]:
    """The token request's trace; on PostgreSQL after the once-per-engine JSON probe."""
    engine = services_of(rp.app).engine
    if engine.dialect.name == "postgresql":
        statement_entries(engine)
    with protocol_trace(engine) as lines:
        answer = rp.token(**form)
    return answer, lines


def _code_and_tokens(app: Flask, code: str) -> tuple[bool, list[tuple[str, bool]]]:
    """Whether ``code`` is used, and (kind, revoked) of every token of its grant."""
    with services_of(app).sessions() as session:
        grant_id, used = session.execute(select(
            AuthorizationCode.grant_id, AuthorizationCode.used).where(
            AuthorizationCode.code_hash == digest(code))).one()
        tokens = session.execute(select(Token.kind, Token.revoked).where(
            Token.grant_id == grant_id).order_by(Token.kind)).all()
    return used, [tuple(row) for row in tokens]


def _verified_entries(app: Flask) -> list[Entry]:
    """Every entry, after the chain verified: hashes recomputed in Python over the stored
    fields, so an entry a statement wrote is byte for byte the one Python would write."""
    log = services_of(app).audit
    listed = log.entries(limit=None)
    verify_chain(listed)
    return listed


@ON_POSTGRESQL
def test_a_code_exchange_and_its_audit_entry_are_one_statement_and_one_round_trip(
        db_rp: Rp) -> None:
    db_rp.login()
    db_rp.exchange(*db_rp.code())  # the pool's first connection and the client cache, warm
    code, verifier = db_rp.code()
    answer, lines = _traced_token_request(
        db_rp, grant_type="authorization_code", code=code, code_verifier=verifier,
        redirect_uri=REDIRECT)
    assert answer.status_code == 200, answer.get_json()
    # One autocommit statement redeems the code, stores the tokens and appends the entry
    # (idp.audit.append): no BEGIN, no COMMIT, one round trip (docs/benchmarks.md).
    assert _round_trips(lines) == ["I"]
    [statement] = _statements(lines)
    assert statement.startswith('"" "WITH redeemed AS')
    assert _code_and_tokens(db_rp.app, code) == (True, [("access", False), ("refresh", False)])
    bearer = {"Authorization": f"Bearer {answer.get_json()['access_token']}"}
    assert db_rp.browser.get("/userinfo", headers=bearer).status_code == 200
    issued = [e for e in _verified_entries(db_rp.app) if e.action == "token.issued"]
    assert len(issued) == 2
    grant_id, private_id, acr, amr, scope = _grant_of(db_rp.app, code)
    last = issued[-1]
    assert (last.actor, last.target, last.outcome) == (
        f"rp:{db_rp.client_id}", f"person:{private_id}", "ok")
    assert last.details == {"grant_type": "authorization_code", "acr": acr, "amr": amr,
                            "scope": scope, "grant": grant_id}


def _grant_of(app: Flask, code: str) -> tuple[Any, ...]:
    with services_of(app).sessions() as session:
        return tuple(session.execute(select(
            Grant.id, Grant.private_id, Grant.acr, Grant.amr, Grant.scope).join(
            AuthorizationCode, AuthorizationCode.grant_id == Grant.id).where(
            AuthorizationCode.code_hash == digest(code))).one())


@ON_POSTGRESQL
def test_a_refresh_rotation_and_its_audit_entry_are_one_round_trip(db_rp: Rp) -> None:
    db_rp.login()
    code, verifier = db_rp.code()
    first = db_rp.exchange(code, verifier).get_json()
    answer, lines = _traced_token_request(db_rp, grant_type="refresh_token",
                                          refresh_token=first["refresh_token"])
    assert answer.status_code == 200, answer.get_json()
    assert _round_trips(lines) == ["I"]  # the rotation, the new tokens, their audit entry
    again = db_rp.token(grant_type="refresh_token", refresh_token=answer.get_json()[
        "refresh_token"])
    assert again.status_code == 200
    grant_id, *_ = _grant_of(db_rp.app, code)
    rotated = [e for e in _verified_entries(db_rp.app) if e.action == "token.issued"]
    assert [e.details["grant_type"] for e in rotated] == [
        "authorization_code", "refresh_token", "refresh_token"]
    assert {e.details["grant"] for e in rotated} == {grant_id}


@ON_POSTGRESQL
def test_a_refused_code_is_one_round_trip_with_its_entry_and_a_replay_one_transaction(
        db_rp: Rp) -> None:
    db_rp.login()
    code, verifier = db_rp.code()
    refused, lines = _traced_token_request(
        db_rp, grant_type="authorization_code", code=code, code_verifier=pkce()[0],
        redirect_uri=REDIRECT)
    assert refused.status_code == 400
    assert _round_trips(lines) == ["I"]  # consumes the code and appends its refusal's entry
    replay, lines = _traced_token_request(
        db_rp, grant_type="authorization_code", code=code, code_verifier=verifier,
        redirect_uri=REDIRECT)
    assert replay.status_code == 400
    # the exchange redeems nothing (and writes nothing); then the revocation and the refusal's
    # entry in one transaction
    trips = _round_trips(lines)
    assert trips[0] == "I"
    assert trips[-1] == "I"
    assert set(trips[1:-1]) == {"T"}
    assert len(trips) > 4
    grant_id, private_id, *_ = _grant_of(db_rp.app, code)
    entries = [e for e in _verified_entries(db_rp.app) if e.action == "token.refused"]
    assert [(e.outcome, e.target, e.details) for e in entries] == [
        ("refused", f"person:{private_id}", {
            "grant_type": "authorization_code", "error": "invalid_grant", "grant": grant_id,
            "reason": "code_verifier does not match the code_challenge (PKCE)"}),
        ("refused", None, {  # as before this change: a replay's entry names no grant
            "grant_type": "authorization_code", "error": "invalid_grant",
            "reason": "the code was already used; its tokens are now revoked"})]


REFUSED = {
    "wrong verifier": ({"code_verifier": "wrong-" + "v" * 43},
                       "code_verifier does not match the code_challenge (PKCE)"),
    "other redirect_uri": ({"redirect_uri": REDIRECT + "/other"},
                           "redirect_uri differs from the authorization request's"),
    "no redirect_uri": ({"redirect_uri": None},
                        "redirect_uri differs from the authorization request's"),
    "expired": ({}, "the authorization code has expired"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_refused_code_is_consumed_without_tokens_and_its_retry_is_a_replay(
        db_rp: Rp, case: str) -> None:
    db_rp.login()
    code, verifier = db_rp.code()
    if case == "expired":
        with db.transaction(services_of(db_rp.app).sessions) as session:
            session.execute(update(AuthorizationCode).where(
                AuthorizationCode.code_hash == digest(code)).values(
                expires_at=int(time.time()) - 1))
    changed, description = REFUSED[case]
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": REDIRECT, **changed}
    refused = db_rp.token(**{name: value for name, value in form.items() if value is not None})
    assert refused.status_code == 400
    assert refused.get_json() == {"error": "invalid_grant", "error_description": description}
    assert _code_and_tokens(db_rp.app, code) == (True, [])
    retry = db_rp.exchange(code, verifier)  # one try per code: the right values are too late
    assert retry.get_json()["error_description"] == \
        "the code was already used; its tokens are now revoked"
    assert _code_and_tokens(db_rp.app, code) == (True, [])


def test_a_replayed_code_revokes_the_tokens_issued_from_it(db_rp: Rp) -> None:
    db_rp.login()
    code, verifier = db_rp.code()
    first = db_rp.exchange(code, verifier).get_json()
    replay = db_rp.exchange(code, verifier)
    assert replay.status_code == 400
    assert replay.get_json() == {
        "error": "invalid_grant",
        "error_description": "the code was already used; its tokens are now revoked"}
    assert _code_and_tokens(db_rp.app, code) == (True, [("access", True), ("refresh", True)])
    bearer = {"Authorization": f"Bearer {first['access_token']}"}
    assert db_rp.browser.get("/userinfo", headers=bearer).status_code == 401
    refreshed = db_rp.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert refreshed.get_json()["error"] == "invalid_grant"


def test_a_replayed_refresh_token_revokes_the_grant(db_rp: Rp) -> None:
    db_rp.login()
    first = db_rp.exchange(*db_rp.code()).get_json()
    second = db_rp.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == 200
    replay = db_rp.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert replay.get_json()["error_description"] == \
        "the refresh token was already used: every token of this grant is revoked"
    later = db_rp.token(grant_type="refresh_token",
                        refresh_token=second.get_json()["refresh_token"])
    assert later.get_json()["error_description"] == "the refresh token is revoked or expired"


def test_an_unknown_refresh_token_is_refused(db_rp: Rp) -> None:
    refused = db_rp.token(grant_type="refresh_token", refresh_token="no-such-token")
    assert refused.get_json() == {"error": "invalid_grant",
                                  "error_description": "unknown refresh token"}


@ON_POSTGRESQL
def test_this_postgresql_writes_json_as_python_so_the_statement_appends_the_entry(
        db_rp: Rp) -> None:
    assert statement_entries(services_of(db_rp.app).engine)


@ON_POSTGRESQL
def test_a_postgresql_writing_json_otherwise_gets_its_entries_from_python_in_one_commit(
        db_rp: Rp, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Were a PostgreSQL version to escape JSON strings unlike Python, statement-built entries
    would never verify: the probe sends the exchange back to one transaction of the exchange
    and its entry from Python (one commit), and says so once."""
    monkeypatch.setattr(append, "writes_json_as_python", lambda connection: False)
    db_rp.login()
    code, verifier = db_rp.code()
    answer, lines = _traced_token_request(
        db_rp, grant_type="authorization_code", code=code, code_verifier=verifier,
        redirect_uri=REDIRECT)
    assert answer.status_code == 200, answer.get_json()
    assert _round_trips(lines) == ["T", "T", "T", "I"]
    begin, statement, audited, commit = _statements(lines)
    assert (begin.startswith('"BEGIN'), commit) == (True, '"COMMIT"')
    assert statement.startswith('"" "WITH redeemed AS')
    assert audited.startswith('"" "WITH old AS')
    assert "unlike the audit log's canonical encoding" in caplog.text
    rotated, lines = _traced_token_request(db_rp, grant_type="refresh_token",
                                           refresh_token=answer.get_json()["refresh_token"])
    assert rotated.status_code == 200
    assert _round_trips(lines) == ["T", "T", "T", "I"]
    refused = db_rp.token(grant_type="authorization_code", code=code, code_verifier=verifier,
                          redirect_uri=REDIRECT)
    assert refused.status_code == 400
    assert [e.action for e in _verified_entries(db_rp.app)][-3:] == [
        "token.issued", "token.issued", "token.refused"]
