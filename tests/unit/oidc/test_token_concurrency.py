"""The token endpoint under concurrent workers, on SQLite and PostgreSQL: codes stay
single-use, and redemptions racing each other never fail with a database error."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask
from sqlalchemy import select

from idp.app import services_of
from idp.oidc.models import AuthorizationCode, Grant, Token
from idp.oidc.tokens import digest
from tests.unit.oidc.conftest import REDIRECT, Rp, register


def _exchange_in_new_client(rp: Rp, code: str, verifier: str) -> Any:
    """One worker thread's request: its own test client, as gunicorn threads have."""
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": REDIRECT}
    assert rp.secret is not None
    return rp.app.test_client().post("/token", data=form, auth=(rp.client_id, rp.secret))


def test_concurrent_redemptions_of_different_codes_all_succeed(db_rp: Rp) -> None:
    db_rp.login()
    codes = [db_rp.code() for _ in range(24)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda pair: _exchange_in_new_client(db_rp, *pair), codes))
    assert [answer.status_code for answer in answers] == [200] * len(codes)


def test_concurrent_redemptions_of_one_code_issue_tokens_once(db_rp: Rp) -> None:
    db_rp.login()
    code, verifier = db_rp.code()
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: _exchange_in_new_client(db_rp, code, verifier),
                                range(4)))
    assert sorted(answer.status_code for answer in answers) == [200, 400, 400, 400]


def test_a_race_for_one_code_stores_one_pair_of_tokens_which_the_losers_revoke(
        db_rp: Rp) -> None:
    """Every loser finds the code used only after the winner committed its tokens (it waited
    for the row lock, or came later), so its replay revokes them (RFC 6749 §4.1.2)."""
    db_rp.login()
    code, verifier = db_rp.code()
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: _exchange_in_new_client(db_rp, code, verifier),
                                range(6)))
    assert [answer.status_code for answer in answers].count(200) == 1
    with services_of(db_rp.app).sessions() as session:
        tokens = session.execute(select(Token.kind, Token.revoked).join(
            AuthorizationCode, AuthorizationCode.grant_id == Token.grant_id).where(
            AuthorizationCode.code_hash == digest(code)).order_by(Token.kind)).all()
    assert [tuple(row) for row in tokens] == [("access", True), ("refresh", True)]


def _other_client(app: Flask) -> Rp:
    other_id, other_secret = register(app, name="Other RP")
    return Rp(app, app.test_client(), other_id, other_secret)


def _tokens_of(app: Flask, code: str) -> tuple[bool, bool, list[tuple[str, bool]]]:
    """Whether ``code`` is used, whether its grant is revoked, and its tokens' (kind, revoked)."""
    with services_of(app).sessions() as session:
        used, revoked = session.execute(select(AuthorizationCode.used, Grant.revoked).join(
            Grant, Grant.id == AuthorizationCode.grant_id).where(
            AuthorizationCode.code_hash == digest(code))).one()
        tokens = session.execute(select(Token.kind, Token.revoked).join(
            AuthorizationCode, AuthorizationCode.grant_id == Token.grant_id).where(
            AuthorizationCode.code_hash == digest(code)).order_by(Token.kind)).all()
    return used, revoked, [tuple(row) for row in tokens]


def test_a_code_presented_by_another_client_is_revoked_for_its_own_client_too(
        db_app: Flask, db_rp: Rp) -> None:
    """The code leaked (RFC 9700 §4.5): whoever holds it, no one may redeem it now."""
    db_rp.login()
    code, verifier = db_rp.code()
    refused = _other_client(db_app).exchange(code, verifier)
    assert refused.status_code == 400
    assert refused.get_json() == {
        "error": "invalid_grant",
        "error_description": "the code was not issued to this client; it is now revoked"}
    assert _tokens_of(db_app, code) == (True, True, [])
    assert db_rp.exchange(code, verifier).get_json()["error"] == "invalid_grant"
    assert _tokens_of(db_app, code) == (True, True, [])


def test_a_redeemed_code_presented_by_another_client_revokes_its_tokens(
        db_app: Flask, db_rp: Rp) -> None:
    db_rp.login()
    code, verifier = db_rp.code()
    tokens = db_rp.exchange(code, verifier).get_json()
    assert _other_client(db_app).exchange(code, verifier).get_json()["error"] == "invalid_grant"
    assert _tokens_of(db_app, code) == (True, True, [("access", True), ("refresh", True)])
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert db_rp.browser.get("/userinfo", headers=bearer).status_code == 401
    refreshed = db_rp.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.get_json()["error"] == "invalid_grant"


def test_a_code_presented_by_another_client_is_revoked_by_a_public_client_too(
        db_app: Flask, db_rp: Rp) -> None:
    """A public client authenticates with nothing but its client_id: the code is spent all
    the same, since only a leak puts it in another client's hands."""
    db_rp.login()
    code, verifier = db_rp.code()
    public_id, _ = register(db_app, name="Public RP", auth_method="none")
    refused = db_app.test_client().post("/token", data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "redirect_uri": REDIRECT, "client_id": public_id})
    assert refused.get_json()["error"] == "invalid_grant"
    assert _tokens_of(db_app, code) == (True, True, [])


def test_an_unknown_code_is_invalid_grant(db_rp: Rp) -> None:
    refused = db_rp.exchange("no-such-code", "v" * 43)
    assert refused.status_code == 400
    assert refused.get_json()["error_description"] == "unknown authorization code"
