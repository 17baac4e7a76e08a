"""A suspended and a closed private ID refuse a passkey differently, each saying what to do.

Through the JSON face only: the refusal's ``error`` code tells the two apart for a program, and
its description tells the person (Japanese by default, English on request). Suspended (card
lost: both certificates revoked) is restored by a new card and a re-issue; closed (death) is not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

from tests.integration.card_login.conftest import Browser, Idp, person
from tests.integration.card_login.test_card_states_json import _refused_login, _state_of
from tests.integration.card_login.test_lifecycle_json import _answer, _card_login
from tests.support.webauthn_authenticator import SoftAuthenticator

ORIGIN = "http://localhost:8000"  # the default webauthn origin the IdP accepts


def _onboard_with_passkey(idp: Idp, card_file: str, authenticator: SoftAuthenticator) -> None:
    browser = idp.browser()
    browser.authorize()
    browser.agree_to_terms()
    _answer(browser, "onboard", card_file, "ABCD1234")
    state = browser.continue_after_card()
    options = browser.act("passkey_register_options").json()["options"]
    credential = authenticator.create(json.dumps(options), origin=ORIGIN)
    registered = browser.act("passkey_register", {"credential": json.loads(credential)})
    assert registered.status_code == 200, registered.text
    browser.act("consent", {"approve": True, "claims": state["requested"]["claims"]})


def _passkey_refusal(idp: Idp, authenticator: SoftAuthenticator,
                     language: str) -> tuple[requests.Response, Browser]:
    browser = idp.browser()
    browser.http.headers["Accept-Language"] = language
    browser.authorize()
    options = browser.act("passkey_options").json()["options"]
    assertion = authenticator.get(json.dumps(options), origin=ORIGIN)
    return browser.act("passkey_verify", {"credential": assertion}), browser


def _refusals(idp: Idp, authenticator: SoftAuthenticator) -> dict[str, Any]:
    answers = {}
    for language in ("ja", "en"):
        answer, _ = _passkey_refusal(idp, authenticator, language)
        assert answer.status_code == 403
        answers[language] = answer.json()
    assert answers["ja"]["error"] == answers["en"]["error"]
    return answers


def test_a_suspended_private_id_refuses_the_passkey_and_says_a_new_card_restores_it(
        idp: Idp, tmp_path: Path) -> None:
    goro = person(idp.sim, tmp_path, "渡辺　五郎")
    authenticator = SoftAuthenticator()
    _onboard_with_passkey(idp, goro["card_file"], authenticator)
    holder = _card_login(idp, goro["card_file"])
    idp.sim.cli("person", "lose-card", goro["person_id"])
    _refused_login(idp, goro["card_file"])
    assert _state_of(idp, holder) == "suspended"

    refused = _refusals(idp, authenticator)
    assert refused["ja"]["error"] == "account_suspended"
    assert "新しいカード" in refused["ja"]["error_description"]
    assert "再発行" in refused["ja"]["error_description"]
    assert "new card" in refused["en"]["error_description"]

    # What the message says works: the new card signs in (J-LIS links old→new) and re-issues.
    idp.sim.cli("person", "new-card", goro["person_id"])
    browser = _card_login(idp, goro["card_file"])
    assert browser.state["prompt"] == "reissue", browser.state
    _answer(browser, "reissue", goro["card_file"], "ABCD1234")
    assert browser.continue_after_card()["prompt"] == "returned"
    assert _state_of(idp, browser) == "active"


def test_a_closed_private_id_refuses_the_passkey_and_says_it_cannot_be_used(
        idp: Idp, tmp_path: Path) -> None:
    rokuro = person(idp.sim, tmp_path, "山本　六郎")
    authenticator = SoftAuthenticator()
    _onboard_with_passkey(idp, rokuro["card_file"], authenticator)
    holder = _card_login(idp, rokuro["card_file"])
    idp.sim.cli("person", "die", rokuro["person_id"])
    _refused_login(idp, rokuro["card_file"])
    assert _state_of(idp, holder) == "closed"

    refused = _refusals(idp, authenticator)
    assert refused["ja"]["error"] == "account_closed"
    assert "閉鎖" in refused["ja"]["error_description"]
    assert "再発行" not in refused["ja"]["error_description"]
    assert "closed" in refused["en"]["error_description"]
