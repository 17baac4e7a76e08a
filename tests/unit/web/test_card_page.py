"""The card step on the interaction page: buttons, the request's link, QR code and command."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from flask import Flask

from idp import db as dbm
from idp.accounts import card_requests
from idp.accounts.card_requests import BROWSER_COOKIE
from idp.accounts.sessions import COOKIE_NAME
from idp.app import services_of
from idp.web import card_app
from tests.unit.oidc.conftest import ISSUER, Rp


def hostile_host(rp: Rp, host: str = "evil.example") -> dict[str, str]:
    """Headers naming ``host`` as the request's Host; the browser's cookies go along (the test
    client picks cookies by the Host header)."""
    for name in (BROWSER_COOKIE, COOKIE_NAME, "session"):
        cookie = rp.browser.get_cookie(name, domain="localhost")
        if cookie is not None:
            rp.browser.set_cookie(name, cookie.value, domain=host)
    return {"Host": host}


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


def test_card_request_links_lead_to_the_issuer_whatever_the_host_header_says(
        rp: Rp, monkeypatch: pytest.MonkeyPatch) -> None:
    """A request sent with ``Host: evil.example`` (a misrouted or poisoned request) must not
    hand the person or the card app a link, QR code or command leading there."""
    location, _ = rp.authorize()
    state = rp.interaction(location)
    made = rp.browser.post(state["actions"]["card"]["href"], json={}, headers={
        "X-CSRF-Token": state["csrf_token"], **hostile_host(rp)}).get_json()
    url = f"{ISSUER}/card-requests/{made['request_id']}"
    assert made["request_url"] == url
    assert made["qr_url"] == f"{url}/qr.svg"
    assert made["commands"]["card_file"] == f"idp card sign {url} --card-file CARD_FILE"
    assert made["commands"]["reader"].startswith(f"idp card sign {url} --reader ")
    drawn: list[str] = []
    monkeypatch.setattr(card_app, "qr_svg", lambda text: drawn.append(text) or b"<svg/>")
    qr = rp.browser.get(urlsplit(made["qr_url"]).path, headers=hostile_host(rp))
    assert qr.status_code == 200
    assert drawn == [url]


def test_interaction_links_name_no_host_the_request_chose(rp: Rp) -> None:
    location, _ = rp.authorize()
    face = rp.browser.get(urlsplit(location).path, headers={
        "Accept": "application/json", **hostile_host(rp)})
    assert face.status_code == 200
    assert "evil.example" not in json.dumps(face.get_json())
    page = rp.browser.get(urlsplit(location).path, headers=hostile_host(rp))
    assert "evil.example" not in page.get_data(as_text=True)


@pytest.mark.parametrize("purpose", ["reissue", "consent"])  # FINISHED_BY_ANSWER
def test_an_accepted_reissue_goes_on_to_the_relying_party_only_once_its_step_is_finished(
        rp: Rp, app: Flask, purpose: str) -> None:
    """A re-issue or a 4-info refresh (purpose ``consent``) is recorded before
    ``CardSignIns.after_answer`` raises the session's level;
    a status poll in between must not send the browser on (its code would carry the level
    from before the re-issue)."""
    location, _ = rp.authorize()
    state = rp.interaction(location)
    browser = rp.browser.get_cookie(BROWSER_COOKIE, domain="localhost")
    assert browser is not None
    sessions = services_of(app).sessions
    with dbm.transaction(sessions) as db:
        request_id = card_requests.create(db, uid=state["uid"], browser=browser.value,
                                          purpose=purpose).id
        card_requests.record(db, request_id, outcome="accepted")

    def status() -> dict[str, object]:
        found: dict[str, object] = rp.browser.get(
            f"/interaction/{state['uid']}/status").get_json()
        return found

    assert status()["status"] == "accepted"
    assert "redirect_to" not in status()
    with dbm.transaction(sessions) as db:
        assert card_requests.mark_continued(db, request_id)
    assert status()["redirect_to"] == f"{ISSUER}/interaction/{state['uid']}"
