"""The sample relying parties' journeys in headless Chromium, against a live IdP and the live
RP apps (each a Werkzeug server thread; tests/support/rp_site.py), with the DevTools virtual
authenticator for passkeys. Each journey fails when the IdP delivers too little: the shop must
show the acr and amr of a passkey login, the age gate must say 20歳以上 having received nothing
but ``age_over_20``, and the portal's mail service must log in without a login prompt and end
its session when the person logs out of the portal. Screenshots: docs/journeys.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from idp.accounts.sessions import COOKIE_NAME
from idp.settings import Settings
from rp_examples.age_gate import PROFILE as AGE_GATE
from rp_examples.common import state_of
from rp_examples.portal import PROFILE as PORTAL
from rp_examples.portal_mail import PROFILE as PORTAL_MAIL
from rp_examples.shop import PROFILE as SHOP
from tests.support.anchor import anchor
from tests.support.browser import SCREENSHOTS, VirtualAuthenticator, browser, watch_csp
from tests.support.rp_site import LiveIdp, LiveRp, live_idp, live_rp

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WAIT_MS = 20_000
IDENTITY_CLAIMS = {"name", "family_name", "given_name", "birthdate", "address", "gender"}


@pytest.fixture
def chromium() -> Iterator[Any]:
    with browser() as instance:
        yield instance


def _context(chromium: Any) -> Any:
    return chromium.new_context(viewport={"width": 900, "height": 760}, locale="ja-JP")


def _log_in_at_idp(idp: LiveIdp, context: Any, page: Any, *, private_id: str | None = None,
                   **basic4: str) -> str:
    """The person logs in at the IdP (fixture login, as the card would) on the page the RP sent
    them to; a new person is anchored to a current certificate with ``basic4``. The private
    ID."""
    person, cookie = idp.login_cookie(private_id=private_id)
    if private_id is None:
        anchor(idp.app, person, serial=person.encode().hex()[-8:], **basic4)
    context.add_cookies([{"name": COOKIE_NAME, "value": cookie, "url": idp.url}])
    page.reload()
    return person


def _consent(page: Any, rp: LiveRp, *, register_passkey: bool = False) -> None:
    """On the IdP's interaction page: a passkey offered after the login is registered or
    skipped, then the consent approved if asked; back at the RP."""
    if page.locator("#passkey-register").count():
        with page.expect_navigation():
            page.click("#passkey-register" if register_passkey else "#skip")
    if not page.url.startswith(rp.url):
        with page.expect_navigation(url=f"{rp.url}/**", timeout=WAIT_MS):
            page.click("button[data-approve=true]")


def _whoami(page: Any, rp: LiveRp) -> dict[str, Any]:
    answer = page.context.request.get(f"{rp.url}/whoami")
    assert answer.ok
    who: dict[str, Any] = answer.json()
    return who


def test_shop_shows_the_acr_and_amr_of_a_passkey_login(
        sqlite_settings: Settings, chromium: Any) -> None:
    with live_idp(sqlite_settings) as idp, live_rp(SHOP, idp) as shop:
        context = _context(chromium)
        page = context.new_page()
        violations = watch_csp(page)
        authenticator = VirtualAuthenticator.attach(page)
        page.goto(shop.url)
        page.screenshot(path=str(SCREENSHOTS / "rp-shop-start.png"))
        page.click("#login-main")
        page.wait_for_url(f"{idp.url}/interaction/*")
        _log_in_at_idp(idp, context, page)
        _consent(page, shop, register_passkey=True)
        assert len(authenticator.credentials()) == 1

        # Logged out (RP-initiated logout ends the IdP session too), then in with the passkey.
        with page.expect_navigation(url=f"{shop.url}/"):
            page.click("#logout")
        assert _whoami(page, shop)["logged_in"] is False
        page.click("#login-main")
        # The IdP's page asks the authenticator at once (conditional mediation): a passkey
        # login, no card, back at the shop.
        page.wait_for_url(f"{shop.url}/", timeout=WAIT_MS)
        who = _whoami(page, shop)
        assert who["logged_in"] is True
        assert "user" in who["amr"]  # the authenticator verified the person: a passkey login
        assert "pin" not in who["amr"]
        # The shop asks no acr_values: the IdP answers the value of the identity proof.
        assert who["acr"] == "urn:jpki-idp:acr:ial2-aal2"
        assert page.inner_text("#acr") == who["acr"]
        assert "本人確認済み" in page.inner_text("#acr-means")
        assert "指紋" in page.inner_text("#amr li[data-amr='user']")
        for value in who["amr"]:
            assert page.locator(f"#amr li[data-amr='{value}']").count() == 1
        assert "このRPの知らない" not in page.inner_text("#this-login")
        page.screenshot(path=str(SCREENSHOTS / "rp-shop.png"), full_page=True)
        page.click("#buy-tea")
        assert page.locator("#order[data-allowed=true]").count() == 1
        page.goto(f"{shop.url}/?lang=en")
        assert "identity proven" in page.inner_text("#acr-means")
        context.close()
    assert violations == []


def test_the_age_gate_says_20_or_over_and_never_receives_a_name(
        sqlite_settings: Settings, chromium: Any) -> None:
    with live_idp(sqlite_settings) as idp, live_rp(AGE_GATE, idp) as bar:
        context = _context(chromium)
        page = context.new_page()
        violations = watch_csp(page)
        page.goto(bar.url)
        page.click("#check-age")
        page.wait_for_url(f"{idp.url}/interaction/*")
        _log_in_at_idp(idp, context, page, birth_date="1980-04-01")
        assert "山田" not in page.content()  # the consent asks for the age claim alone
        page.screenshot(path=str(SCREENSHOTS / "rp-age-gate-consent.png"))
        _consent(page, bar)
        assert page.inner_text("#verdict") == "20歳以上"
        page.screenshot(path=str(SCREENSHOTS / "rp-age-gate.png"), full_page=True)
        who = _whoami(page, bar)
        assert who["claims"] == {"age_over_20": True}
        assert who["allowed"] == {"serve_alcohol": True}
        (login,) = state_of(bar.app).store.logins()
        assert not IDENTITY_CLAIMS & set(login.id_token_claims)
        assert "山田" not in page.content()
        context.close()
    assert violations == []


def test_the_age_gate_kiosk_shows_the_verdict_of_the_phone(
        sqlite_settings: Settings, chromium: Any) -> None:
    with live_idp(sqlite_settings) as idp, live_rp(AGE_GATE, idp) as bar:
        screen = _context(chromium).new_page()
        screen.goto(f"{bar.url}/?kiosk=1")
        assert screen.locator("#qr").is_visible()
        screen.screenshot(path=str(SCREENSHOTS / "rp-age-gate-kiosk.png"))
        link = screen.get_attribute("#kiosk-link", "href")
        phone_context = chromium.new_context(viewport={"width": 390, "height": 780},
                                             locale="ja-JP", is_mobile=True)
        phone = phone_context.new_page()
        phone.goto(link)
        phone.wait_for_url(f"{idp.url}/interaction/*")
        _log_in_at_idp(idp, phone_context, phone, birth_date="1980-04-01")
        _consent(phone, bar)
        assert phone.locator("#see-screen").is_visible()
        screen.wait_for_selector("#verdict", timeout=WAIT_MS)  # the screen refreshes itself
        assert screen.inner_text("#verdict") == "20歳以上"
        screen.screenshot(path=str(SCREENSHOTS / "rp-age-gate-kiosk-done.png"))
        phone_context.close()
        screen.context.close()


def test_portal_mail_signs_on_without_a_login_and_logs_out_with_the_portal(
        sqlite_settings: Settings, chromium: Any) -> None:
    with live_idp(sqlite_settings) as idp, \
            live_rp(PORTAL, idp, sector="portal.example") as portal, \
            live_rp(PORTAL_MAIL, idp, sector="portal.example") as mail:
        context = _context(chromium)
        page = context.new_page()
        violations = watch_csp(page)
        seen: list[str] = []
        page.on("request", lambda request: seen.append(request.url)
                if request.is_navigation_request() else None)
        page.goto(portal.url)
        page.click("#login-main")
        page.wait_for_url(f"{idp.url}/interaction/*")
        person = _log_in_at_idp(idp, context, page)
        _consent(page, portal)
        assert _whoami(page, portal)["logged_in"] is True
        page.screenshot(path=str(SCREENSHOTS / "rp-portal.png"), full_page=True)

        # To the mail service: the IdP asks this new service's consent once, never a login.
        seen.clear()
        page.goto(mail.url)
        page.click("#login-main")
        page.wait_for_url(f"{idp.url}/interaction/*")
        assert page.locator("#passkey-login").count() == 0
        assert page.locator("#card-actions").count() == 0
        _consent(page, mail)
        who = _whoami(page, mail)
        assert who["logged_in"] is True
        assert who["sub"] == _whoami(page, portal)["sub"]
        assert any("prompt=none" in url for url in seen)  # it tried silently first

        # Logging out of the portal ends the mail service's session (back-channel logout).
        page.goto(portal.url)
        with page.expect_navigation(url=f"{portal.url}/**"):
            page.click("#logout")
        assert _whoami(page, portal)["logged_in"] is False
        assert _whoami(page, mail)["logged_in"] is False

        # Logged in again at the portal, the mail service finds the login with no page at all.
        page.click("#login-main")
        page.wait_for_url(f"{idp.url}/interaction/*")
        _log_in_at_idp(idp, context, page, private_id=person)
        _consent(page, portal)
        seen.clear()
        page.goto(mail.url)
        page.wait_for_selector("#inbox", timeout=WAIT_MS)
        assert not any("/interaction/" in url for url in seen), seen
        page.screenshot(path=str(SCREENSHOTS / "rp-portal-mail.png"), full_page=True)
        context.close()
    assert violations == []
