"""verified_claims and the age claims through the whole flow: /authorize, the consent page's
JSON face (ja, en), the ID token, userinfo and introspection; refusals that store nothing."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import func, select

from idp.app import services_of
from idp.assurance.levels import IAL1_AAL2
from idp.oidc.models import Consent, Grant, Interaction, PushedRequest
from tests.support.anchor import CA, anchor
from tests.unit.oidc.conftest import Rp, query

VERIFIED = {"verification": {"trust_framework": {"value": "jp_aml"}, "time": None,
                             "evidence": [{"type": {"value": "electronic_signature"},
                                           "issuer": None, "serial_number": None,
                                           "created_at": None}]},
            "claims": {"name": None, "birthdate": None, "address": None, "age_over_20": None}}


def _consent_face(rp: Rp, lang: str = "en", **params: str) -> tuple[dict[str, Any], str]:
    location, verifier = rp.authorize(**params)
    state = rp.browser.get(location.split("idp.test")[-1], query_string={"lang": lang},
                           headers={"Accept": "application/json"}).get_json()
    assert state["prompt"] == "consent", state
    return state, verifier


def _tokens(rp: Rp, state: dict[str, Any], verifier: str, claims: list[str]) -> dict[str, Any]:
    answer = rp.act(state, "consent", {"approve": True, "claims": claims}).get_json()
    body: dict[str, Any] = rp.exchange(query(answer["redirect_to"])["code"], verifier).get_json()
    assert "id_token" in body, body
    return body


def _id_token(rp: Rp, tokens: dict[str, Any]) -> dict[str, Any]:
    keys = KeySet.import_key_set(rp.browser.get("/jwks").get_json())
    return dict(jwt.decode(tokens["id_token"], keys).claims)


def _userinfo(rp: Rp, tokens: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = rp.browser.get("/userinfo", headers={
        "Authorization": f"Bearer {tokens['access_token']}"}).get_json()
    return answer


def test_verified_claims_in_the_id_token_and_userinfo(rp: Rp) -> None:
    anchor(rp.app, rp.login())
    request = {"id_token": {"verified_claims": VERIFIED},
               "userinfo": {"verified_claims": [VERIFIED]}}
    state, verifier = _consent_face(rp, scope="openid", claims=json.dumps(request))
    assert state["requested"]["claims"] == [
        "verified_claims.address", "verified_claims.age_over_20", "verified_claims.birthdate",
        "verified_claims.name"]
    tokens = _tokens(rp, state, verifier, state["requested"]["claims"])
    verified = _id_token(rp, tokens)["verified_claims"]
    assert verified["verification"]["trust_framework"] == "jp_aml"
    assert verified["verification"]["evidence"] == [{
        "type": "electronic_signature", "issuer": CA, "serial_number": "0a1b2c3d",
        "signature_type": "http://idp.test/identifiers/signature_type/jpki_sign",
        "created_at": "2026-01-10T09:30:00Z"}]
    assert verified["claims"] == {
        "name": "山田\u3000太郎", "birthdate": "1980-04-01", "age_over_20": True,
        "address": {"formatted": "東京都千代田区永田町1-7-1", "country": "JP"}}
    info = _userinfo(rp, tokens)
    assert isinstance(info["verified_claims"], list)
    assert info["verified_claims"][0]["claims"] == verified["claims"]
    assert set(info) == {"sub", "verified_claims"}  # nothing outside verified_claims


def test_a_declined_verified_claim_is_left_out(rp: Rp) -> None:
    anchor(rp.app, rp.login())
    state, verifier = _consent_face(rp, scope="openid", claims=json.dumps(
        {"userinfo": {"verified_claims": VERIFIED}}))
    tokens = _tokens(rp, state, verifier, ["verified_claims.age_over_20"])
    assert _userinfo(rp, tokens)["verified_claims"]["claims"] == {"age_over_20": True}


def test_nothing_verified_when_the_anchor_is_not_current(rp: Rp) -> None:
    anchor(rp.app, rp.login(acr=IAL1_AAL2.value), state="needs_reissue")
    state, verifier = _consent_face(rp, scope="openid age", claims=json.dumps(
        {"id_token": {"verified_claims": VERIFIED, "age_over_18": None}}))
    tokens = _tokens(rp, state, verifier, state["requested"]["claims"])
    id_token = _id_token(rp, tokens)
    assert "verified_claims" not in id_token
    assert "age_over_18" not in id_token
    assert id_token["acr"] == IAL1_AAL2.value
    assert set(_userinfo(rp, tokens)) == {"sub"}


def test_nothing_verified_when_the_login_proved_no_identity_though_the_anchor_is_current(
        rp: Rp) -> None:
    """The trust policy held the anchor's medium to IAL1 (``media.card.max_ial = 1``): the
    login's acr says ial1, so neither verified_claims, the age claims nor the name, birth date
    and address drawn from the 4 info are released, in the ID token or at userinfo."""
    anchor(rp.app, rp.login(acr=IAL1_AAL2.value))  # state: current
    state, verifier = _consent_face(rp, scope="openid profile address age", claims=json.dumps(
        {"id_token": {"verified_claims": VERIFIED, "age_over_18": None, "name": None},
         "userinfo": {"verified_claims": VERIFIED}}))
    tokens = _tokens(rp, state, verifier, state["requested"]["claims"])
    id_token = _id_token(rp, tokens)
    assert id_token["acr"] == IAL1_AAL2.value
    assert not {"verified_claims", "age_over_18", "name", "birthdate"} & set(id_token)
    assert set(_userinfo(rp, tokens)) == {"sub"}


def test_consent_page_says_what_is_shared_in_japanese_and_english(rp: Rp) -> None:
    anchor(rp.app, rp.login())
    request = json.dumps({"userinfo": {"verified_claims": VERIFIED}})
    ja, _ = _consent_face(rp, "ja", scope="openid age", claims=request)
    assert ja["claim_labels"]["age_over_20"].startswith("20歳以上であること")
    assert ja["claim_labels"]["verified_claims.name"] == "氏名（マイナンバーカードで確認済み）"
    assert ja["claim_labels"]["verified_claims.age_over_20"].startswith("20歳以上であること")
    en, _ = _consent_face(rp, "en", scope="openid age", claims=request)
    assert en["claim_labels"]["age_over_65"] == \
        "That you are 65 or older (not your date of birth)"
    assert en["claim_labels"]["verified_claims.birthdate"] == \
        "Date of birth (verified with your My Number Card)"
    for face in (ja, en):
        assert all("claim." not in label for label in face["claim_labels"].values())
        assert "1980" not in json.dumps(face, ensure_ascii=False)


def test_an_rp_asking_only_for_age_learns_nothing_else(rp: Rp) -> None:
    anchor(rp.app, rp.login(), birth_date="2006-06-02")
    state, verifier = _consent_face(rp, scope="openid age", claims=json.dumps(
        {"id_token": {"age_over_18": None, "age_over_65": None}}))
    assert state["requested"]["claims"] == ["age_over_18", "age_over_20", "age_over_65"]
    tokens = _tokens(rp, state, verifier, state["requested"]["claims"])
    id_token, info = _id_token(rp, tokens), _userinfo(rp, tokens)
    assert id_token["age_over_18"] is True
    assert id_token["age_over_65"] is False
    assert {k: v for k, v in info.items() if k != "sub"} == {
        "age_over_18": True, "age_over_20": True, "age_over_65": False}
    introspection = rp.browser.post("/introspect", data={"token": tokens["access_token"]},
                                    auth=(rp.client_id, rp.secret)).get_json()
    assert introspection["active"] is True
    received = json.dumps([tokens, id_token, info, introspection], ensure_ascii=False)
    for leak in ("山田", "太郎", "2006", "06-02", "東京", "千代田", "birthdate", "address",
                 "name\"", "gender", "0a1b2c3d", CA):
        assert leak not in received, leak


def test_a_malformed_verified_claims_request_is_refused_and_nothing_stored(rp: Rp) -> None:
    rp.login()
    bad = json.dumps({"userinfo": {"verified_claims": {"claims": {"name": None}}}})
    location, _ = rp.authorize(scope="openid", claims=bad)
    assert query(location)["error"] == "invalid_request"
    assert "verified_claims\".verification" in query(location)["error_description"]
    pushed = rp.browser.post("/par", auth=(rp.client_id, rp.secret), data={
        "client_id": rp.client_id, "response_type": "code", "scope": "openid",
        "redirect_uri": "https://rp.example/cb", "code_challenge": "x" * 43,
        "code_challenge_method": "S256", "nonce": "n", "claims": bad})
    assert pushed.status_code == 400
    assert pushed.get_json()["error"] == "invalid_request"
    assert "verified_claims\".verification" in pushed.get_json()["error_description"]
    assert _stored(rp.app) == 0


def _stored(app: Flask) -> int:
    """Rows of what an authorization request leaves behind: interactions, pushed requests,
    consents, grants."""
    with services_of(app).sessions() as session:
        return sum(int(session.scalar(select(func.count()).select_from(table)) or 0)
                   for table in (Interaction, PushedRequest, Consent, Grant))


def test_discovery_publishes_the_identity_assurance_metadata(rp: Rp) -> None:
    meta = rp.browser.get("/.well-known/openid-configuration").get_json()
    assert meta["trust_frameworks_supported"] == ["jp_aml"]
    assert meta["evidence_supported"] == ["electronic_signature"]
    assert set(meta["claims_in_verified_claims_supported"]) == {
        "name", "family_name", "given_name", "birthdate", "gender", "address",
        "age_over_18", "age_over_20", "age_over_65"}
    assert meta["claims_parameter_supported"] is True
    assert "verified_claims" in meta["claims_supported"]
    assert "age_over_20" in meta["claims_supported"]
    assert "age" in meta["scopes_supported"]
    assert "verified_claims_supported" not in meta  # withdrawn before the final (IDA §8)


def test_the_consent_page_itself_lists_each_kind(rp: Rp) -> None:
    anchor(rp.app, rp.login())
    location, _ = rp.authorize(scope="openid age", claims=json.dumps(
        {"userinfo": {"verified_claims": VERIFIED}}))
    page = rp.browser.get(location.split("idp.test")[-1], query_string={"lang": "ja"},
                          headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'value="age_over_20"' in page
    assert "20歳以上であること（生年月日は送りません）" in page
    assert 'value="verified_claims.name"' in page
    assert "氏名（マイナンバーカードで確認済み）" in page
    assert "1980" not in page
