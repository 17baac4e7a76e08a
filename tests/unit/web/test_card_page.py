"""The card step on the interaction page: buttons, the request's link, QR code and command."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.unit.oidc.conftest import Rp


def test_the_login_page_offers_the_card_in_japanese_with_the_stylesheet(rp: Rp) -> None:
    location, _ = rp.authorize()
    page = rp.browser.get(urlsplit(location).path).get_data(as_text=True)
    assert "マイナンバーカードでサインイン" in page
    assert "マイナンバーカードで登録" in page
    assert "css/app.css" in page
    assert "js/card_request.js" in page


def test_the_login_page_speaks_english_on_request(rp: Rp) -> None:
    location, _ = rp.authorize()
    page = rp.browser.get(urlsplit(location).path + "?lang=en").get_data(as_text=True)
    assert "Sign in with My Number Card" in page


def test_a_card_request_answers_its_link_qr_code_and_commands(rp: Rp) -> None:
    location, _ = rp.authorize()
    state = rp.interaction(location)
    agree = state["actions"]["agree"]
    assert rp.act(state, "agree", {"agree": True, "version": agree["version"]}).status_code == 200
    made = rp.act(state, "onboard", {}).get_json()
    url = made["request_url"]
    assert url.endswith(f"/card-requests/{made['request_id']}")
    assert made["commands"]["card_file"] == f"idp card sign {url} --card-file CARD_FILE"
    assert made["commands"]["reader"].startswith(f"idp card sign {url} --reader ")
    qr = rp.browser.get(made["qr_url"])
    assert qr.status_code == 200
    assert qr.mimetype == "image/svg+xml"
    assert b"<svg" in qr.data


def test_the_qr_code_of_an_unknown_request_is_refused(rp: Rp) -> None:
    answer = rp.browser.get("/card-requests/nope/qr.svg")
    assert answer.status_code == 404
    assert answer.get_json()["error"] == "request_not_found"


def test_the_status_of_a_new_request_is_pending(rp: Rp) -> None:
    location, _ = rp.authorize()
    state = rp.interaction(location)
    rp.act(state, "card", {})
    status = rp.browser.get(f"/interaction/{state['uid']}/status").get_json()
    assert status["status"] == "pending"
    assert status["purpose"] == "login"
