"""``/logout`` asks the person unless the relying party speaks for this browser's session
(RP-Initiated Logout 1.0 §2): a bare cross-site GET, or one with another session's
``id_token_hint``, ends nothing until the person confirms, with a CSRF token bound to the login
session (issue 11, item 7)."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
import responses
from flask import Flask
from werkzeug.test import TestResponse

from tests.unit.oidc.conftest import Rp, register

BACKCHANNEL = "https://rp.example/backchannel"
POST_LOGOUT = "https://rp.example/bye"


class _Form(HTMLParser):
    """The confirmation page's form: where it posts and its hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "form":
            self.action = named.get("action")
        if tag == "input" and named.get("type") == "hidden":
            self.fields[named["name"] or ""] = named.get("value") or ""


def form_of(page: TestResponse) -> _Form:
    assert page.status_code == 200, page.get_data(as_text=True)
    form = _Form()
    form.feed(page.get_data(as_text=True))
    assert form.action is not None, "no confirmation form"
    return form


@pytest.fixture
def logout_rp(app: Flask) -> Rp:
    client_id, secret = register(app, backchannel_logout_uri=BACKCHANNEL,
                                 post_logout_redirect_uris=[POST_LOGOUT])
    return Rp(app, app.test_client(), client_id, secret)


def signed_in(rp: Rp) -> bool:
    """Whether the browser's login session is still live."""
    status: int = rp.browser.get("/account", headers={"Accept": "application/json"}).status_code
    assert status in (200, 401)
    return status == 200


def tokens_of(rp: Rp) -> dict[str, Any]:
    code, verifier = rp.code()
    tokens: dict[str, Any] = rp.exchange(code, verifier).get_json()
    return tokens


def test_a_bare_cross_site_logout_asks_in_japanese_and_the_session_survives(
        logout_rp: Rp) -> None:
    logout_rp.login()
    page = logout_rp.browser.get("/logout", headers={"Sec-Fetch-Site": "cross-site"})
    text = page.get_data(as_text=True)
    assert "ログアウトしますか" in text
    assert form_of(page).action == "/logout/confirm"
    assert "Set-Cookie" not in page.headers
    assert signed_in(logout_rp)


def test_the_question_speaks_english_on_request(logout_rp: Rp) -> None:
    logout_rp.login()
    page = logout_rp.browser.get("/logout", query_string={"lang": "en"})
    assert "Sign out?" in page.get_data(as_text=True)
    assert form_of(page).action == "/logout/confirm?lang=en"


def test_a_cross_site_post_without_a_hint_asks_too(logout_rp: Rp) -> None:
    logout_rp.login()
    page = logout_rp.browser.post("/logout", data={"client_id": logout_rp.client_id})
    assert form_of(page).fields["client_id"] == logout_rp.client_id
    assert signed_in(logout_rp)


@pytest.mark.parametrize("token", [None, "forged", "é"])
def test_a_confirmation_without_the_right_csrf_token_is_refused(
        logout_rp: Rp, token: str | None) -> None:
    logout_rp.login()
    form_of(logout_rp.browser.get("/logout"))
    data = {} if token is None else {"csrf_token": token}
    refused = logout_rp.browser.post("/logout/confirm", data=data)
    assert refused.status_code == 403
    assert "The request cannot be processed" in refused.get_data(as_text=True)
    assert signed_in(logout_rp)


def test_another_sessions_confirmation_token_is_refused(logout_rp: Rp) -> None:
    logout_rp.login()
    theirs = form_of(logout_rp.browser.get("/logout")).fields["csrf_token"]
    mine = Rp(logout_rp.app, logout_rp.app.test_client(), logout_rp.client_id,
              logout_rp.secret)
    mine.login()
    refused = mine.browser.post("/logout/confirm", data={"csrf_token": theirs})
    assert refused.status_code == 403
    assert refused.get_json(silent=True) is None  # a page for the browser
    assert signed_in(mine)


def test_a_confirmation_without_a_login_session_is_refused(logout_rp: Rp) -> None:
    refused = logout_rp.browser.post("/logout/confirm", data={"csrf_token": "x"},
                                     headers={"Accept": "application/json"})
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "csrf_failed"


@responses.activate
def test_the_confirmation_ends_the_session_notifies_the_rp_and_returns_with_state(
        logout_rp: Rp) -> None:
    responses.add(responses.POST, BACKCHANNEL, status=200)
    logout_rp.login()
    tokens_of(logout_rp)
    form = form_of(logout_rp.browser.get("/logout", query_string={
        "client_id": logout_rp.client_id, "post_logout_redirect_uri": POST_LOGOUT,
        "state": "bye-2"}))
    assert len(responses.calls) == 0  # nothing ended yet
    assert form.fields["post_logout_redirect_uri"] == POST_LOGOUT
    assert form.fields["state"] == "bye-2"
    done = logout_rp.browser.post(form.action or "", data=form.fields)
    assert done.status_code == 303
    assert done.headers["Location"] == f"{POST_LOGOUT}?state=bye-2"
    assert len(responses.calls) == 1  # the back-channel logout token
    assert not signed_in(logout_rp)


def test_a_confirmation_checks_the_redirect_again(logout_rp: Rp) -> None:
    logout_rp.login()
    form = form_of(logout_rp.browser.get("/logout"))
    refused = logout_rp.browser.post("/logout/confirm", data={
        **form.fields, "client_id": logout_rp.client_id,
        "post_logout_redirect_uri": "https://evil.example/"})
    assert refused.status_code == 400
    assert "Location" not in refused.headers
    assert signed_in(logout_rp)


def test_a_confirmation_without_a_redirect_shows_the_signed_out_page(logout_rp: Rp) -> None:
    logout_rp.login()
    form = form_of(logout_rp.browser.get("/logout"))
    done = logout_rp.browser.post("/logout/confirm", data=form.fields)
    assert done.status_code == 200
    assert "ログアウトしました" in done.get_data(as_text=True)
    assert not signed_in(logout_rp)


def test_this_sessions_hint_logs_out_at_once(logout_rp: Rp) -> None:
    logout_rp.login()
    tokens = tokens_of(logout_rp)
    done = logout_rp.browser.get("/logout", query_string={"id_token_hint": tokens["id_token"]})
    assert done.status_code == 200
    assert "ログアウトしました" in done.get_data(as_text=True)
    assert not signed_in(logout_rp)


def test_another_sessions_hint_asks(logout_rp: Rp) -> None:
    logout_rp.login()
    theirs = tokens_of(logout_rp)["id_token"]
    mine = Rp(logout_rp.app, logout_rp.app.test_client(), logout_rp.client_id,
              logout_rp.secret)
    mine.login()
    page = mine.browser.get("/logout", query_string={
        "id_token_hint": theirs, "post_logout_redirect_uri": POST_LOGOUT})
    assert form_of(page).fields["id_token_hint"] == theirs
    assert signed_in(mine)
    assert signed_in(logout_rp)


def test_an_unregistered_redirect_is_refused_before_anything_is_asked(logout_rp: Rp) -> None:
    logout_rp.login()
    refused = logout_rp.browser.get("/logout", query_string={
        "client_id": logout_rp.client_id, "post_logout_redirect_uri": "https://evil.example/"})
    assert refused.status_code == 400
    assert "csrf_token" not in refused.get_data(as_text=True)
