"""The running IdP, simulator and browser the card journeys share (tests/e2e/test_card_*.py).

The person's browser is Debian Chromium (Playwright), with the DevTools virtual authenticator
for passkeys; the card app is ``idp card sign URL --card-file F --pin P --yes`` run as a
subprocess with the request URL the page shows, as a person would. The page is never reloaded
by a journey: it follows the card request and continues by itself. Screenshots of the key pages
go to docs/screenshots/ (docs/journeys.md).

A test module imports the fixtures it uses (``site``, ``chromium``, ``sim_server``) from here.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from idp import db
from idp.accounts.jpki_models import AuthLink, JpkiAnchor
from idp.accounts.models import PrivateId
from idp.app import services_of
from idp.oidc import clients
from idp.settings import Settings
from tests.integration.card_login.conftest import card_sign
from tests.support.browser import SCREENSHOTS, VirtualAuthenticator, browser, watch_csp
from tests.support.sim import RunningSim, sim_server
from tests.support.site import serving

__all__ = ["SCREENSHOTS", "sim_server"]

SIGN_PIN, AUTH_PIN = "ABCD1234", "1234"
WAIT_MS = 30_000
# The Content-Security-Policy violations of every page a journey opened (``new_page``): a page
# the policy breaks fails the journey that meets it (``no_csp_violations``).
CSP_VIOLATIONS: list[str] = []


@dataclass
class Site:
    base: str
    client_id: str
    secret: str
    sim: RunningSim
    app: Any

    def account_state(self, sign_serial: str) -> str:
        """The state of the private ID anchored to this signing certificate (as stored)."""
        with services_of(self.app).sessions() as session:
            anchor = session.scalars(select(JpkiAnchor).where(
                func.lower(JpkiAnchor.serial_hex) == sign_serial.lower())).one()
            person = session.get(PrivateId, anchor.private_id)
            assert person is not None
            return str(person.state)

    def auth_link_via(self, auth_serial: str) -> str | None:
        """How the IdP linked this auth certificate to a private ID (jlis_pair, jlis_previous)."""
        with services_of(self.app).sessions() as session:
            link = session.scalars(select(AuthLink).where(
                func.lower(AuthLink.serial_hex) == auth_serial.lower())).one_or_none()
            return None if link is None else str(link.via)

    def authorize_url(self) -> tuple[str, str]:
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        return f"{self.base}/authorize?" + urlencode({
            "client_id": self.client_id, "redirect_uri": f"{self.base}/rp/cb",
            "response_type": "code", "scope": "openid profile address", "state": "st",
            "nonce": "n", "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256"}), verifier

    def claims(self, rp_url: str, verifier: str) -> dict[str, Any]:
        """What the relying party learns with the code it received: userinfo and the acr."""
        code = parse_qs(urlsplit(rp_url).query)["code"][0]
        token = requests.post(f"{self.base}/token", data={
            "grant_type": "authorization_code", "code": code,
            "redirect_uri": f"{self.base}/rp/cb", "code_verifier": verifier},
            auth=(self.client_id, self.secret), timeout=10)
        assert token.status_code == 200, token.text
        info = requests.get(f"{self.base}/userinfo", timeout=10, headers={
            "Authorization": f"Bearer {token.json()['access_token']}"})
        assert info.status_code == 200, info.text
        return dict(info.json())


@pytest.fixture(scope="module")
def site(sim_server: RunningSim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    var_dir = tmp_path_factory.mktemp("idp") / "var"
    var_dir.mkdir()
    export = sim_server.run("ca", "export", str(var_dir / "trust"))
    assert export.returncode == 0, export.stderr
    database_url = f"sqlite:///{var_dir / 'idp.sqlite3'}"
    db.upgrade(database_url)
    ocsp = {"method": "ocsp"}

    def settings(base: str) -> Settings:
        return Settings(var_dir=var_dir, database_url=database_url, oidc={"issuer": base},
                        webauthn={"origins": (base,)},
                        jlis={"url": sim_server.url, "api_key": sim_server.api_key},
                        trust={"sign": ocsp, "auth": ocsp})

    with serving(settings) as (app, base):
        with db.transaction(services_of(app).sessions) as session:
            client_id, secret = clients.register(session, name="テスト銀行",
                                                 redirect_uris=[f"{base}/rp/cb"])
        yield Site(base, client_id, secret or "", sim_server, app)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with browser() as instance:
        yield instance


def new_page(chromium: Any, *, passkeys: bool) -> tuple[Any, VirtualAuthenticator | None]:
    context = chromium.new_context(viewport={"width": 820, "height": 900}, locale="ja-JP")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    watch_csp(page, CSP_VIOLATIONS)
    return page, VirtualAuthenticator.attach(page) if passkeys else None


@pytest.fixture
def no_csp_violations() -> Iterator[None]:
    """The journey's pages met no Content-Security-Policy violation."""
    CSP_VIOLATIONS.clear()
    yield
    assert CSP_VIOLATIONS == []


def click(page: Any, selector: str) -> None:
    """Click once the page's script has wired its buttons (it marks <html data-ready>)."""
    page.wait_for_selector("html[data-ready=true]", state="attached")
    page.click(selector)


def answer_with_card(page: Any, action: str, card_file: str, pin: str,
                     screenshot: str | None = None) -> None:
    """Press the card button, read the request URL off the page, answer it with the card."""
    click(page, f"button[data-card={action}]")
    answer_shown_request(page, card_file, pin, screenshot)


def agree_to_terms(page: Any, screenshot: str | None = None) -> None:
    """Registering starts with the terms and the J-LIS link: read, then agree."""
    click(page, "button[data-card=onboard]")
    page.wait_for_selector("#terms-panel:not([hidden])")
    assert page.locator("#card-request").is_hidden()  # the card is not asked before
    assert "J-LIS" in page.inner_text("#terms-jlis-link")
    if screenshot:
        page.screenshot(path=str(SCREENSHOTS / screenshot), full_page=True)
    page.click("#terms-agree")


def answer_shown_request(page: Any, card_file: str, pin: str,
                         screenshot: str | None = None) -> None:
    """Read the card request the page shows and answer it with the card."""
    page.wait_for_selector("#card-request:not([hidden])")
    url = page.get_attribute("#card-link", "href")
    assert url is not None
    assert page.inner_text("#card-command-file").startswith(f"idp card sign {url}")
    # A function, not a bare expression: Playwright polls those with eval, which the CSP refuses.
    page.wait_for_function("() => document.getElementById('card-qr').naturalWidth > 0")
    if screenshot:
        page.screenshot(path=str(SCREENSHOTS / screenshot), full_page=True)
    signed = card_sign(url, card_file, pin)
    assert signed.returncode == 0, signed.stderr


def onboard(site: Site, chromium: Any, card_file: str, *, screenshot: str | None = None,
            terms_screenshot: str | None = None) -> tuple[Any, str]:
    """Register with the card, register a passkey, consent: back at the RP with a code.
    Answers the page (its virtual authenticator holds the passkey) and the RP's ``sub``."""
    page, authenticator = new_page(chromium, passkeys=True)
    url, verifier = site.authorize_url()
    page.goto(url)
    agree_to_terms(page, terms_screenshot)
    answer_shown_request(page, card_file, SIGN_PIN, screenshot)
    page.wait_for_selector("#passkey-register")  # the page continued by itself
    with page.expect_navigation():
        click(page, "#passkey-register")
    assert authenticator is not None
    assert len(authenticator.credentials()) == 1
    with page.expect_navigation(url=f"{site.base}/rp/cb*"):
        click(page, "button[data-approve=true]")
    claims = site.claims(page.url, verifier)
    assert claims["address"]["formatted"] == "東京都千代田区永田町1-7-1"
    return page, str(claims["sub"])


def card_login(site: Site, chromium: Any, card_file: str) -> tuple[Any, str]:
    """A card login in a browser without passkeys; (page, verifier) once the card answered."""
    page, _ = new_page(chromium, passkeys=False)
    url, verifier = site.authorize_url()
    page.goto(url)
    answer_with_card(page, "card", card_file, AUTH_PIN)
    return page, verifier


def passkey_login(site: Site, page: Any) -> str:
    """Signed out, back to the RP: the page's autofill request gets the one passkey."""
    page.context.clear_cookies()
    url, verifier = site.authorize_url()
    page.goto(url)
    return verifier
