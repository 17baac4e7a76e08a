"""Userinfo (OIDC Core §5.3) answers only for a live access token of a live grant."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import update

from idp import db
from idp.accounts.claims import DbClaimsSource
from idp.app import services_of
from idp.oidc.models import Grant, Token
from idp.settings import Settings
from tests.support.login import DEMO_CLAIMS
from tests.support.transactions import statements
from tests.unit.oidc.conftest import Rp, idp_app


def _tokens(rp: Rp) -> dict[str, Any]:
    rp.login()
    code, verifier = rp.code()
    body: dict[str, Any] = rp.exchange(code, verifier).get_json()
    return body


def _userinfo(rp: Rp, token: str) -> Any:
    return rp.browser.get("/userinfo", headers={"Authorization": f"Bearer {token}"})


def _change(rp: Rp, statement: Any) -> None:
    with db.transaction(services_of(rp.app).sessions) as session:
        session.execute(statement)


def test_a_live_access_token_gets_the_claims_and_sub(db_rp: Rp) -> None:
    answer = _userinfo(db_rp, _tokens(db_rp)["access_token"])
    assert answer.status_code == 200
    assert answer.get_json()["name"] == "山田 太郎"
    assert answer.headers["Cache-Control"] == "no-store"


def test_a_refresh_token_is_not_an_access_token(db_rp: Rp) -> None:
    answer = _userinfo(db_rp, _tokens(db_rp)["refresh_token"])
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_an_expired_access_token_is_refused(db_rp: Rp) -> None:
    token = _tokens(db_rp)["access_token"]
    _change(db_rp, update(Token).where(Token.kind == "access").values(expires_at=1))
    assert _userinfo(db_rp, token).status_code == 401


def test_a_revoked_access_token_is_refused(db_rp: Rp) -> None:
    token = _tokens(db_rp)["access_token"]
    _change(db_rp, update(Token).where(Token.kind == "access").values(revoked=True))
    assert _userinfo(db_rp, token).status_code == 401


def test_an_access_token_of_a_revoked_grant_is_refused(db_rp: Rp) -> None:
    token = _tokens(db_rp)["access_token"]
    _change(db_rp, update(Grant).values(revoked=True))
    assert _userinfo(db_rp, token).status_code == 401


def test_an_unknown_token_is_refused(db_rp: Rp) -> None:
    assert _userinfo(db_rp, "not-a-token").status_code == 401


def test_the_token_its_grant_and_the_claims_are_one_statement(db_app: Flask, db_rp: Rp) -> None:
    """Userinfo reads the person's claims with the access token (``ClaimsSource.along``): one
    SELECT, no transaction, on both databases (issue 18)."""
    token = _tokens(db_rp)["access_token"]
    assert _userinfo(db_rp, token).status_code == 200  # the client is read once, then cached
    with statements(services_of(db_app).engine) as ran:
        answer = _userinfo(db_rp, token)
    assert answer.get_json()["name"] == "山田 太郎"
    words = [s.split(None, 1)[0].upper() for s in ran if s.strip()]
    assert [word for word in words if word != "PRAGMA"] == ["SELECT"], ran


def test_stored_claims_are_read_along_with_the_token_too(settings: Settings) -> None:
    """A deployment's own claims source (stored claims: ``DbClaimsSource``) answers through the
    same one statement."""
    engine = db.make_engine(settings.effective_database_url)
    try:
        with idp_app(settings, claims=DbClaimsSource(db.make_sessionmaker(engine))) as app:
            rp = Rp.registered(app)
            token = _tokens(rp)["access_token"]
            assert _userinfo(rp, token).status_code == 200
            with statements(services_of(app).engine) as ran:
                answer = _userinfo(rp, token)
            assert answer.get_json()["name"] == DEMO_CLAIMS["name"]
            assert [s for s in ran if not s.upper().startswith("PRAGMA")] == ran[-1:], ran
    finally:
        engine.dispose()
