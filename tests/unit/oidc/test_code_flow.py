"""The authorization code flow end to end on the test client: consent, code, tokens, userinfo."""

from __future__ import annotations

from joserfc import jwt
from joserfc.jwk import KeySet

from tests.unit.oidc.conftest import ISSUER, Rp, query


def _id_token_claims(rp: Rp, token: str) -> dict:
    keys = KeySet.import_key_set(rp.browser.get("/jwks").get_json())
    return dict(jwt.decode(token, keys).claims)


def test_a_logged_in_person_consents_and_the_rp_gets_tokens_with_acr_and_pairwise_sub(
        rp: Rp) -> None:
    private_id = rp.login()
    code, verifier = rp.code()
    response = rp.exchange(code, verifier)
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    claims = _id_token_claims(rp, body["id_token"])
    assert claims["iss"] == ISSUER
    assert claims["aud"] == rp.client_id
    assert claims["nonce"] == "n-1"
    assert claims["acr"] == "urn:jpki-idp:acr:ial2-aal2"
    assert claims["sub"] != private_id  # pairwise
    info = rp.browser.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200, info.get_json()
    assert info.get_json()["sub"] == claims["sub"]
    assert info.get_json()["name"] == "山田 太郎"


def test_authorization_response_carries_state_and_iss(rp: Rp) -> None:
    rp.login()
    location, _ = rp.authorize()
    state = rp.interaction(location)
    redirect_to = rp.act(state, "consent", {"approve": True, "claims": []}).get_json()[
        "redirect_to"]
    params = query(redirect_to)
    assert params["state"] == "st-1"
    assert params["iss"] == ISSUER


def test_consent_is_remembered_so_the_second_authorization_goes_straight_back(rp: Rp) -> None:
    rp.login()
    rp.code()
    location, _ = rp.authorize()
    assert location.startswith("https://rp.example/cb?code=")
