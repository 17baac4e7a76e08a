"""What ``GET /interaction/{uid}/status`` offers after a card answer is what works next: the
``continue`` that starts the login session, the interaction page when the answer itself
finished the step (a re-issue, a consented 4-info refresh), and nothing once the interaction
is over. Through the JSON face only; every offer is followed and must succeed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.card_login.conftest import Browser, Idp, person
from tests.integration.card_login.test_lifecycle_json import IAL2, _answer, _card_login, _onboard

NEW_ADDRESS = "大阪府大阪市北区1-1"


def _needing_reissue(idp: Idp, tmp_path: Path, name: str) -> tuple[Browser, str]:
    """A person whose move revoked the anchor, signed in by card: the state asks the re-issue."""
    someone = person(idp.sim, tmp_path, name)
    _onboard(idp, someone["card_file"])
    _card_login(idp, someone["card_file"])  # the IdP learns the auth certificate
    idp.sim.cli("person", "move", someone["person_id"], "--address", NEW_ADDRESS)
    browser = _card_login(idp, someone["card_file"])
    assert browser.state["prompt"] == "reissue", browser.state
    return browser, someone["card_file"]


def _follow(browser: Browser, status: dict[str, Any]) -> dict[str, Any]:
    """Follow everything the status offers, each offer must work; answers the state reached."""
    for name in status.get("actions", {}):
        response = browser.act(name, state={**browser.state, **status})
        assert response.status_code == 200, (name, response.text)
        status = {"redirect_to": response.json()["redirect_to"]}
    return browser.show(status["redirect_to"])


@pytest.mark.parametrize(("action", "body"), [("reissue", None),
                                              ("refresh_4info", {"approve": True})])
def test_after_an_answer_that_re_anchors_the_status_offers_the_interaction_not_a_continue(
        idp: Idp, tmp_path: Path, action: str, body: dict[str, Any] | None) -> None:
    browser, card_file = _needing_reissue(idp, tmp_path, f"佐々木　{action}")
    _answer(browser, action, card_file, "ABCD1234", body)
    status = browser.status().json()
    assert status["status"] == "accepted", status
    assert "continue" not in status.get("actions", {}), status  # the answer did the step
    assert _follow(browser, status)["prompt"] == "returned"
    tokens = browser.tokens()
    assert tokens["id_token"]["acr"] == IAL2
    assert tokens["userinfo"]["address"]["formatted"] == NEW_ADDRESS


def test_a_reissue_moves_the_interaction_on_by_itself_and_the_status_then_offers_nothing(
        idp: Idp, tmp_path: Path) -> None:
    """A JSON app may look at the state instead of the status once the card has answered: the
    re-issue already raised the session, so the state returns to the relying party at the
    level the new anchor proves; the status of the finished interaction offers no action."""
    browser, card_file = _needing_reissue(idp, tmp_path, "井上　二郎")
    _answer(browser, "reissue", card_file, "ABCD1234")
    uid = browser.state["uid"]
    assert browser.show(f"/interaction/{uid}")["prompt"] == "returned"
    tokens = browser.tokens()
    assert tokens["id_token"]["acr"] == IAL2
    assert tokens["userinfo"]["address"]["formatted"] == NEW_ADDRESS
    browser.state = {"uid": uid}
    status = browser.status()
    assert status.status_code == 404, status.text
    assert status.json()["error"] == "interaction_not_found"
    assert "actions" not in status.json()
    assert "redirect_to" not in status.json()
