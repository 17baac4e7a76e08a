"""Userinfo (OIDC Core §5.3) answers only for a live access token of a live grant."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from idp import db
from idp.app import services_of
from idp.oidc.models import Grant, Token
from tests.unit.oidc.conftest import Rp


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
