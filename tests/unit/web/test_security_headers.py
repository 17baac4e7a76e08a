"""Every answer carries the browser security headers (issue 11, items 1–3): no page can be
framed, pages run no inline script, nothing is sniffed, no URL leaves in a Referer, and nothing
that names the person or carries a CSRF token is cached."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from werkzeug.test import TestResponse

from tests.unit.oidc.conftest import REDIRECT, Rp


class _Scripts(HTMLParser):
    """The page's script elements that a browser would run inline."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[dict[str, str | None]] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.handlers += [name for name in named if name.startswith("on")]
        if tag == "script" and "src" not in named and named.get("type") != "application/json":
            self.inline.append(named)


def _json(rp: Rp, location: str) -> TestResponse:
    return rp.browser.get(urlsplit(location).path, headers={"Accept": "application/json"})


def _pages(rp: Rp) -> dict[str, TestResponse]:
    """Every kind of HTML page: the front page, login, consent, account (in and out), error,
    signed out, and the logout confirmation."""
    html = {"Accept": "text/html"}
    pages = {"account, signed out": rp.browser.get("/account", headers=html),
             "signed out": rp.browser.get("/logout"), "front": rp.browser.get("/", headers=html)}
    login, _ = rp.authorize()
    pages["login"] = rp.browser.get(urlsplit(login).path, headers=html)
    rp.login()
    consent, _ = rp.authorize()
    pages["consent"] = rp.browser.get(urlsplit(consent).path, headers=html)
    pages["account"] = rp.browser.get("/account", headers=html)
    pages["logout confirmation"] = rp.browser.get("/logout")
    pages["error"] = rp.browser.get("/authorize", query_string={"client_id": "nobody"},
                                    headers=html)
    for name, page in pages.items():
        assert page.mimetype == "text/html", name
    return pages


def test_no_page_can_be_framed_and_pages_run_only_this_origins_scripts(rp: Rp) -> None:
    for name, page in _pages(rp).items():
        policy = {d.split()[0]: d.split()[1:]
                  for d in page.headers["Content-Security-Policy"].split("; ")}
        assert policy["frame-ancestors"] == ["'none'"], name
        assert policy["script-src"] == ["'self'"], name
        assert policy["style-src"] == ["'self'"], name
        assert policy["object-src"] == ["'none'"], name
        assert policy["base-uri"] == ["'none'"], name
        assert policy["default-src"] == ["'none'"], name
        assert page.headers["X-Frame-Options"] == "DENY", name


def test_pages_hold_no_inline_script_for_the_policy_to_block(rp: Rp) -> None:
    for name, page in _pages(rp).items():
        scripts = _Scripts()
        scripts.feed(page.get_data(as_text=True))
        assert scripts.inline == [], name
        assert scripts.handlers == [], name


def test_every_answer_is_not_sniffed_and_sends_no_referrer(rp: Rp) -> None:
    location, _ = rp.authorize()
    answers = {
        "page": rp.browser.get(urlsplit(location).path),
        "interaction JSON": _json(rp, location),
        "redirect": rp.browser.get("/authorize", query_string={"client_id": rp.client_id}),
        "discovery": rp.browser.get("/.well-known/openid-configuration"),
        "static file": rp.browser.get("/static/js/interaction.js"),
        "token, fast path": rp.token(grant_type="authorization_code", code="nope"),
        "token, Flask route": rp.browser.post(
            "/token", data={"grant_type": "authorization_code", "code": "nope"},
            content_type="multipart/form-data", auth=(rp.client_id, rp.secret or "")),
        "not found": rp.browser.get("/no-such-page"),
    }
    for name, answer in answers.items():
        assert answer.headers["X-Content-Type-Options"] == "nosniff", name
        assert answer.headers["Referrer-Policy"] == "no-referrer", name
        assert answer.headers["X-Frame-Options"] == "DENY", name
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"], name
        answer.close()  # the static file's


def test_a_successful_token_answer_of_the_fast_path_carries_them_too(rp: Rp) -> None:
    rp.login()
    code, verifier = rp.code()
    answer = rp.exchange(code, verifier)
    assert answer.status_code == 200
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["Cache-Control"] == "no-store"


def _interaction_answers(rp: Rp) -> dict[str, TestResponse]:
    location, _ = rp.authorize()
    state = rp.interaction(location)
    uid = state["uid"]
    rp.act(state, "card", {})
    return {
        "interaction page": rp.browser.get(urlsplit(location).path),
        "interaction JSON": _json(rp, location),
        "terms": rp.browser.get(f"/interaction/{uid}/terms",
                                headers={"Accept": "application/json"}),
        "card request status": rp.browser.get(f"/interaction/{uid}/status"),
        "card request": rp.act(state, "card", {}),
    }


def test_interaction_answers_are_never_cached(rp: Rp) -> None:
    for name, answer in _interaction_answers(rp).items():
        assert answer.status_code == 200, name
        assert answer.headers["Cache-Control"] == "no-store", name


def test_the_account_answers_are_never_cached(rp: Rp) -> None:
    rp.login()
    for name, answer in {
            "page": rp.browser.get("/account"),
            "JSON": rp.browser.get("/account", headers={"Accept": "application/json"}),
            "consents": rp.browser.get("/account/consents"),
            "page, signed out": rp.app.test_client().get("/account")}.items():
        assert answer.headers["Cache-Control"] == "no-store", name


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/jwks"])
def test_public_metadata_stays_cacheable(rp: Rp, path: str) -> None:
    assert rp.browser.get(path).headers.get("Cache-Control") != "no-store"


def test_the_logout_pages_and_the_authorize_redirect_are_not_cached(rp: Rp) -> None:
    assert rp.browser.get("/logout").headers["Cache-Control"] == "no-store"
    rp.login()
    asking = rp.browser.get("/logout")
    assert "csrf_token" in asking.get_data(as_text=True)
    assert asking.headers["Cache-Control"] == "no-store"
    redirect = rp.browser.get("/authorize", query_string={
        "client_id": rp.client_id, "redirect_uri": REDIRECT, "response_type": "code",
        "scope": "openid", "nonce": "n", "code_challenge": "x" * 43,
        "code_challenge_method": "S256"})
    assert redirect.status_code == 303
    assert redirect.headers["Cache-Control"] == "no-store"


def _set_cookies(rp: Rp, base_url: str) -> dict[str, str]:
    """The cookies an interaction gives the browser (binding, terms agreement, passkey
    ceremony), by name, as the Set-Cookie headers said them."""
    seen: dict[str, str] = {}

    def keep(answer: TestResponse) -> TestResponse:
        for header in answer.headers.getlist("Set-Cookie"):
            seen[header.split("=", 1)[0]] = header
        return answer

    location = keep(rp.browser.get("/authorize", base_url=base_url, query_string={
        "client_id": rp.client_id, "redirect_uri": REDIRECT, "response_type": "code",
        "scope": "openid", "nonce": "n", "code_challenge": "x" * 43,
        "code_challenge_method": "S256"})).headers["Location"]
    path = urlsplit(location).path
    state = keep(rp.browser.get(path, headers={"Accept": "application/json"},
                                base_url=base_url)).get_json()
    csrf = {"X-CSRF-Token": state["csrf_token"]}
    agree = state["actions"]["agree"]
    keep(rp.browser.post(agree["href"], json={"agree": True, "version": agree["version"]},
                         headers=csrf, base_url=base_url))
    keep(rp.browser.post(state["actions"]["passkey_options"]["href"], json={}, headers=csrf,
                         base_url=base_url))
    return seen


def test_every_cookie_is_secure_over_https(rp: Rp) -> None:
    cookies = _set_cookies(rp, "https://localhost")
    assert {"session", "idp_browser"} <= cookies.keys()
    for name, header in cookies.items():
        assert "; Secure" in header, name


def test_the_session_cookie_still_works_over_plain_http_in_development(rp: Rp) -> None:
    cookies = _set_cookies(rp, "http://localhost")
    assert "; Secure" not in cookies["session"]
