"""The passkey login flow in headless Chromium against a running IdP, with the DevTools virtual
authenticator: register a passkey after a (fixture) card login, sign out, sign in with the
passkey, land on the relying party with a code, see the passkey on /account, and sign out
through the logout confirmation."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask

from idp import db
from idp.accounts.sessions import COOKIE_NAME
from idp.app import services_of
from idp.oidc import clients
from idp.settings import Settings
from tests.support.browser import SCREENSHOTS, VirtualAuthenticator, browser, watch_csp
from tests.support.login import login_session
from tests.support.site import CurrentAnchors, at_origin, serving
from tests.unit.oidc.conftest import pkce

pytestmark = pytest.mark.browser

@pytest.fixture
def idp(sqlite_settings: Settings) -> Iterator[tuple[Flask, str, str]]:
    with serving(lambda base: at_origin(sqlite_settings, base),
                 anchors=CurrentAnchors()) as (app, base):
        with db.transaction(services_of(app).sessions) as session:
            client_id, _ = clients.register(session, name="Example RP",
                                            redirect_uris=[f"{base}/rp/cb"],
                                            post_logout_redirect_uris=[f"{base}/rp/cb"])
        yield app, base, client_id


def authorize_url(base: str, client_id: str) -> str:
    _, challenge = pkce()
    return f"{base}/authorize?" + urlencode({
        "client_id": client_id, "redirect_uri": f"{base}/rp/cb", "response_type": "code",
        "scope": "openid profile", "state": "st", "nonce": "n", "code_challenge": challenge,
        "code_challenge_method": "S256"})


def test_register_then_sign_in_with_a_passkey_in_chromium(
        idp: tuple[Flask, str, str]) -> None:
    app, base, client_id = idp
    with browser() as chromium:
        context = chromium.new_context(viewport={"width": 800, "height": 600}, locale="ja-JP")
        page = context.new_page()
        violations = watch_csp(page)
        authenticator = VirtualAuthenticator.attach(page)
        page.goto(authorize_url(base, client_id))
        assert page.locator("#passkey-login").is_visible()
        page.screenshot(path=str(SCREENSHOTS / "login.png"))
        _, cookie = login_session(app)  # the card login, as the test fixture does it
        context.add_cookies([{"name": COOKIE_NAME, "value": cookie, "url": base}])
        page.reload()
        with page.expect_navigation():
            page.click("#passkey-register")
        assert len(authenticator.credentials()) == 1
        with page.expect_navigation(url=f"{base}/rp/cb*"):
            page.click("button[data-approve=true]")

        context.clear_cookies()  # signed out; the authenticator keeps its passkey
        # The page starts a conditional (autofill) request at once; the virtual authenticator
        # answers it with the one passkey it holds, as a person picking it from autofill would.
        # It signs with the options its face brought: no request for new ones.
        posted: list[str] = []
        page.on("request", lambda sent: posted.append(urlsplit(sent.url).path)
                if sent.method == "POST" else None)
        page.goto(authorize_url(base, client_id))
        page.wait_for_url(f"{base}/rp/cb*")
        assert "code" in parse_qs(urlsplit(page.url).query)
        assert [path.rsplit("/", 2)[-2:] for path in posted] == [["passkey", "verify"]]

        page.goto(f"{base}/account")
        assert page.locator("#passkeys tr[data-id]").count() == 1
        assert "パスキー" in page.content()
        # The page's script (a static file under the CSP) ran: sign-in times are dates now.
        assert not page.inner_text("td.at").isdigit()
        page.screenshot(path=str(SCREENSHOTS / "account.png"))

        # A logout without an id_token_hint asks first; confirming ends the session and
        # returns to the relying party with its state.
        page.goto(f"{base}/logout?" + urlencode({
            "client_id": client_id, "post_logout_redirect_uri": f"{base}/rp/cb",
            "state": "bye"}))
        assert "ログアウトしますか" in page.inner_text("h1")
        with page.expect_navigation(url=f"{base}/rp/cb?state=bye"):
            page.click("#logout-confirm")
        page.goto(f"{base}/account")
        assert page.locator("#passkeys").count() == 0  # signed out
        context.close()
    assert violations == []
