"""Onboarding, card login and the anchor lifecycle through the interaction JSON face only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.integration.card_login.conftest import Browser, Idp, card_sign, fetch, person

IAL2 = "urn:jpki-idp:acr:ial2-aal2"
IAL1 = "urn:jpki-idp:acr:ial1-aal2"


def _answer(browser: Browser, action: str, card_file: str, pin: str,
            body: dict[str, Any] | None = None) -> str:
    response = browser.act(action, body)
    assert response.status_code == 200, response.text
    url = response.json()["request_url"]
    signed = card_sign(url, card_file, pin)
    assert signed.returncode == 0, signed.stderr
    return str(url)


def _onboard(idp: Idp, card_file: str) -> Browser:
    browser = idp.browser()
    state = browser.authorize()
    assert state["prompt"] == "login"
    browser.agree_to_terms()
    _answer(browser, "onboard", card_file, "ABCD1234")
    state = browser.continue_after_card()
    assert state["prompt"] == "consent", state
    assert state["account"]["anchor"]["state"] == "current"
    response = browser.act("consent", {"approve": True, "claims": state["requested"]["claims"]})
    browser.show(response.json()["redirect_to"])
    return browser


def _card_login(idp: Idp, card_file: str) -> Browser:
    browser = idp.browser()
    browser.authorize()
    _answer(browser, "card", card_file, "1234")
    browser.continue_after_card()
    return browser


def test_onboarding_then_card_login_lands_on_the_same_private_id_with_current_claims(
        idp: Idp, tmp_path: Path) -> None:
    taro = person(idp.sim, tmp_path, "山田　太郎")
    first = _onboard(idp, taro["card_file"])
    onboarded = first.tokens()
    assert onboarded["id_token"]["acr"] == IAL2
    assert onboarded["userinfo"]["name"] == "山田　太郎"
    assert onboarded["userinfo"]["birthdate"] == "1980-02-17"

    again = _card_login(idp, taro["card_file"])
    assert again.state["prompt"] == "returned"  # consent given, anchor current: straight back
    logged_in = again.tokens()
    assert logged_in["id_token"]["sub"] == onboarded["id_token"]["sub"]
    assert logged_in["id_token"]["amr"] == ["sc", "hwk", "pin", "mfa"]


def test_onboarding_twice_never_makes_a_second_private_id(idp: Idp, tmp_path: Path) -> None:
    hanako = person(idp.sim, tmp_path, "佐藤　花子")
    first = _onboard(idp, hanako["card_file"]).tokens()
    browser = idp.browser()
    browser.authorize()
    browser.agree_to_terms()
    _answer(browser, "onboard", hanako["card_file"], "ABCD1234")
    state = browser.continue_after_card()
    assert state["prompt"] == "returned"
    assert browser.tokens()["id_token"]["sub"] == first["id_token"]["sub"]


def test_a_move_withholds_identity_claims_until_the_person_reissues(
        idp: Idp, tmp_path: Path) -> None:
    jiro = person(idp.sim, tmp_path, "鈴木　次郎")
    sub = _onboard(idp, jiro["card_file"]).tokens()["id_token"]["sub"]
    _card_login(idp, jiro["card_file"])  # the IdP learns the auth certificate
    idp.sim.cli("person", "move", jiro["person_id"], "--address", "大阪府大阪市北区1-1")

    browser = _card_login(idp, jiro["card_file"])
    state = browser.state
    assert state["prompt"] == "reissue", state
    assert state["account"]["anchor"]["state"] == "needs_reissue"
    assert state["account"]["anchor"]["reason"] == "sign_revoked:affiliation_changed"
    assert {"reissue", "refresh_4info", "skip"} <= set(state["actions"])

    _answer(browser, "reissue", jiro["card_file"], "ABCD1234")
    state = browser.continue_after_card()
    assert state["prompt"] == "returned", state
    tokens = browser.tokens()
    assert tokens["id_token"]["sub"] == sub
    assert tokens["id_token"]["acr"] == IAL2
    assert tokens["userinfo"]["address"]["formatted"] == "大阪府大阪市北区1-1"


def test_an_rp_requiring_ial2_gets_the_reissue_offered_then_unmet_requirements_if_skipped(
        idp: Idp, tmp_path: Path) -> None:
    shiro = person(idp.sim, tmp_path, "高橋　四郎")
    _onboard(idp, shiro["card_file"])
    _card_login(idp, shiro["card_file"])  # the IdP learns the auth certificate
    idp.sim.cli("person", "move", shiro["person_id"], "--address", "福岡県福岡市中央区1-1")

    browser = idp.browser()
    essential = json.dumps({"id_token": {"acr": {"essential": True, "values": [IAL2]}}})
    assert browser.authorize(claims=essential)["prompt"] == "login"
    _answer(browser, "card", shiro["card_file"], "1234")
    state = browser.continue_after_card()
    assert state["prompt"] == "reissue", state  # the step that would raise the level
    skipped = browser.act("skip")
    assert skipped.status_code == 200, skipped.text
    params = parse_qs(urlsplit(skipped.json()["redirect_to"]).query)
    assert params["error"] == ["unmet_authentication_requirements"]
    assert params["iss"] == [idp.url]


def test_skipping_the_reissue_returns_at_ial1_without_identity_claims(
        idp: Idp, tmp_path: Path) -> None:
    saburo = person(idp.sim, tmp_path, "田中　三郎")
    _onboard(idp, saburo["card_file"])
    _card_login(idp, saburo["card_file"])
    idp.sim.cli("person", "rename", saburo["person_id"], "--name", "高橋　三郎")
    browser = _card_login(idp, saburo["card_file"])
    assert browser.state["prompt"] == "reissue"
    response = browser.act("skip")
    browser.show(response.json()["redirect_to"])
    tokens = browser.tokens()
    assert tokens["id_token"]["acr"] == IAL1
    assert "name" not in tokens["userinfo"]
    assert "address" not in tokens["userinfo"]




def test_a_consented_4info_refresh_makes_the_claims_current_again(
        idp: Idp, tmp_path: Path) -> None:
    shiro = person(idp.sim, tmp_path, "木村　志郎")
    sub = _onboard(idp, shiro["card_file"]).tokens()["id_token"]["sub"]
    _card_login(idp, shiro["card_file"])
    idp.sim.cli("person", "move", shiro["person_id"], "--address", "福岡県福岡市中央区2-2")
    browser = _card_login(idp, shiro["card_file"])
    assert browser.state["prompt"] == "reissue"
    asked = browser.act("refresh_4info").json()
    assert "J-LIS" in asked["consent_text"]
    url = _answer(browser, "refresh_4info", shiro["card_file"], "ABCD1234", {"approve": True})
    assert fetch(url)["purpose"] == "consent"
    assert browser.continue_after_card()["prompt"] == "returned"
    tokens = browser.tokens()
    assert tokens["id_token"]["sub"] == sub
    assert tokens["id_token"]["acr"] == IAL2
    assert tokens["userinfo"]["address"]["formatted"] == "福岡県福岡市中央区2-2"
