"""``prompt=login`` through the card, on the JSON face: a card login made just before the
request, in the same second (the provider's clock stands still here), does not satisfy it; the
card login made at its prompt does."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from idp.oidc import flow
from tests.integration.card_login.conftest import Idp, person
from tests.integration.card_login.test_lifecycle_json import _answer, _onboard


def test_prompt_login_right_after_a_card_login_asks_the_card_again_and_that_login_satisfies_it(
        idp: Idp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    second = int(time.time())
    monkeypatch.setattr(flow, "now", lambda: second)
    mari = person(idp.sim, tmp_path, "石井　真理")
    browser = _onboard(idp, mari["card_file"])  # logged in by the card, consent given
    assert browser.tokens()["id_token"]["auth_time"] == second

    state = browser.authorize(prompt="login")
    assert (state["prompt"], state["reasons"]) == ("login", ["login_prompt"]), state
    _answer(browser, "card", mari["card_file"], "1234")
    assert browser.continue_after_card()["prompt"] == "returned"
    id_token = browser.tokens()["id_token"]
    assert id_token["auth_time"] == second
    assert id_token["amr"] == ["sc", "hwk", "pin", "mfa"]
