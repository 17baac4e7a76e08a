"""Claims: scopes, the claims parameter, consent per claim; pairwise and public subjects."""

from __future__ import annotations

import json

from flask import Flask
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.unit.oidc.conftest import Rp, register


def _userinfo(rp: Rp, access_token: str) -> dict:
    body: dict = rp.browser.get(
        "/userinfo", headers={"Authorization": f"Bearer {access_token}"}).get_json()
    return body


def _flow(rp: Rp, consent_to: list[str] | None = None, **params: str) -> dict:
    location, verifier = rp.authorize(**params)
    state = rp.interaction(location)
    claims = state["requested"]["claims"] if consent_to is None else consent_to
    redirect_to = rp.act(state, "consent", {"approve": True, "claims": claims}).get_json()[
        "redirect_to"]
    from tests.unit.oidc.conftest import query

    body: dict = rp.exchange(query(redirect_to)["code"], verifier).get_json()
    assert "access_token" in body, body
    return body


def test_birthdate_scope_releases_only_the_birthdate(rp: Rp) -> None:
    rp.login()
    tokens = _flow(rp, scope="openid birthdate")
    info = _userinfo(rp, tokens["access_token"])
    assert set(info) == {"sub", "birthdate"}


def test_claims_parameter_puts_requested_claims_in_the_id_token(rp: Rp) -> None:
    rp.login()
    claims = {"id_token": {"birthdate": None, "gender": {"essential": True}},
              "userinfo": {"address": None}}
    tokens = _flow(rp, scope="openid", claims=json.dumps(claims))
    keys = KeySet.import_key_set(rp.browser.get("/jwks").get_json())
    id_claims = jwt.decode(tokens["id_token"], keys).claims
    assert id_claims["birthdate"] == "1980-04-01"
    assert id_claims["gender"] == "male"
    assert "address" not in id_claims
    assert set(_userinfo(rp, tokens["access_token"])) == {"sub", "address"}


def test_a_claim_requested_with_another_value_is_left_out(rp: Rp) -> None:
    rp.login()
    claims = {"userinfo": {"gender": {"value": "female"}, "birthdate": {"values": ["1980-04-01"]}}}
    tokens = _flow(rp, scope="openid", claims=json.dumps(claims))
    assert set(_userinfo(rp, tokens["access_token"])) == {"sub", "birthdate"}


def test_declined_claims_are_not_released_and_not_asked_again(rp: Rp) -> None:
    rp.login()
    tokens = _flow(rp, consent_to=["name"], scope="openid profile")
    info = _userinfo(rp, tokens["access_token"])
    assert info.get("name") == "山田 太郎"
    assert "birthdate" not in info
    location, _ = rp.authorize(scope="openid profile")
    assert "code=" in location


def test_prompt_consent_asks_again(rp: Rp) -> None:
    rp.login()
    _flow(rp)
    location, _ = rp.authorize(prompt="consent")
    assert rp.interaction(location)["prompt"] == "consent"


def test_malformed_claims_parameter_is_invalid_request(rp: Rp) -> None:
    location, _ = rp.authorize(claims="{not json")
    assert "error=invalid_request" in location


def test_pairwise_subjects_differ_between_sectors_and_match_within_one(app: Flask) -> None:
    subs = []
    for uris, sector in ((["https://a.example/cb"], None), (["https://b.example/cb"], None),
                         (["https://c.example/cb"], "https://a.example")):
        client_id, secret = register(app, redirect_uris=uris, sector_identifier=sector)
        rp = Rp(app, app.test_client(), client_id, secret)
        import tests.unit.oidc.conftest as support

        original = support.REDIRECT
        support.REDIRECT = uris[0]
        try:
            rp.login(private_id="pid_same")
            tokens = _flow(rp)
        finally:
            support.REDIRECT = original
        subs.append(_userinfo(rp, tokens["access_token"])["sub"])
    assert subs[0] != subs[1]
    assert subs[0] == subs[2]


def test_public_subject_is_the_private_id(app: Flask) -> None:
    client_id, secret = register(app, subject_type="public")
    rp = Rp(app, app.test_client(), client_id, secret)
    private_id = rp.login()
    tokens = _flow(rp)
    assert _userinfo(rp, tokens["access_token"])["sub"] == private_id
