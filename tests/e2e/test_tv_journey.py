"""Signing in on a TV, as people see it in Chromium (issue 15): the TV screen with the code and
its QR code, the phone's /device page with the code filled in, the approval naming the TV, and
the TV's health page once the phone approved; a declined request shown on the TV."""

from __future__ import annotations

from typing import Any

import pytest

from idp.accounts.sessions import COOKIE_NAME
from idp.settings import Settings
from tests.integration.rp_examples.test_tv import live_tv
from tests.support.anchor import anchor
from tests.support.browser import SCREENSHOTS, browser, watch_csp
from tests.support.login import login_session
from tests.support.rp_site import LiveIdp, live_idp

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TV_SIZE = {"width": 1280, "height": 720}
PHONE_SIZE = {"width": 390, "height": 844}


@pytest.fixture
def settings_1s(sqlite_settings: Settings) -> Settings:
    return sqlite_settings.model_copy(update={"oidc": sqlite_settings.oidc.model_copy(
        update={"device_poll_interval_seconds": 1})})


def _phone(chromium: Any, idp: LiveIdp, violations: list[str]) -> Any:
    """The person's phone, signed in at the IdP with an identity proven by the card."""
    context = chromium.new_context(viewport=PHONE_SIZE, is_mobile=True, locale="ja-JP")
    private_id, cookie = login_session(idp.app)
    anchor(idp.app, private_id)
    context.add_cookies([{"name": COOKIE_NAME, "value": cookie, "url": idp.url}])
    page = context.new_page()
    watch_csp(page, violations)
    return page


def _enter_code(phone: Any, tv: Any) -> None:
    """Open the QR code's URL (the TV shows it as the image's alt text) and continue."""
    target = tv.get_attribute("#qr", "alt").removeprefix("QR: ")
    phone.goto(target)
    phone.wait_for_selector("html[data-ready=true]")
    assert phone.input_value("#user-code") == tv.inner_text("#user-code")


def test_the_tv_shows_the_code_and_the_phone_approves_it(settings_1s: Settings) -> None:
    violations: list[str] = []
    with live_idp(settings_1s) as idp, live_tv(idp) as tv_rp, browser() as chromium:
        tv = chromium.new_context(viewport=TV_SIZE, locale="ja-JP").new_page()
        watch_csp(tv, violations)
        tv.goto(f"{tv_rp.url}/")
        tv.screenshot(path=str(SCREENSHOTS / "tv-start.png"))
        tv.click("#login-main")
        tv.wait_for_selector("#user-code")
        code = tv.inner_text("#user-code")
        assert len(code) == 9
        assert tv.is_visible("#qr")
        tv.screenshot(path=str(SCREENSHOTS / "tv-screen.png"), full_page=True)

        phone = _phone(chromium, idp, violations)
        _enter_code(phone, tv)
        phone.screenshot(path=str(SCREENSHOTS / "device-enter.png"), full_page=True)
        with phone.expect_navigation():
            phone.click("#user-code-submit")
        phone.wait_for_selector("html[data-ready=true]")
        if phone.locator("#consent").count():
            with phone.expect_navigation():
                phone.click("button[data-approve=true]")
            phone.wait_for_selector("html[data-ready=true]")
        assert phone.inner_text("#device-user-code") == code
        assert "テストテレビ" in phone.inner_text("#message")
        phone.screenshot(path=str(SCREENSHOTS / "device-approve.png"), full_page=True)
        with phone.expect_navigation():
            phone.click("#device-approve")
        assert phone.get_attribute("#message", "class") == "device-approved"
        phone.screenshot(path=str(SCREENSHOTS / "device-done.png"), full_page=True)

        tv.wait_for_selector("#checkups", timeout=20_000)  # the screen reloads and polls
        assert "サンプル" in tv.inner_text("#sample-note")
        assert tv.inner_text("#person-name").startswith("山田")
        tv.screenshot(path=str(SCREENSHOTS / "tv-health.png"), full_page=True)
    assert violations == []


def test_a_declined_request_is_shown_on_the_tv(settings_1s: Settings) -> None:
    with live_idp(settings_1s) as idp, live_tv(idp) as tv_rp, browser() as chromium:
        tv = chromium.new_context(viewport=TV_SIZE).new_page()
        tv.goto(f"{tv_rp.url}/login")
        tv.wait_for_selector("#user-code")
        phone = _phone(chromium, idp, [])
        _enter_code(phone, tv)
        with phone.expect_navigation():
            phone.click("#user-code-submit")
        phone.wait_for_selector("html[data-ready=true]")
        if phone.locator("#consent").count():
            with phone.expect_navigation():
                phone.click("button[data-approve=true]")
            phone.wait_for_selector("html[data-ready=true]")
        with phone.expect_navigation():
            phone.click("#device-deny")
        assert phone.get_attribute("#message", "class") == "device-denied"
        tv.wait_for_selector("#tv-screen[data-status=denied]", timeout=20_000)
        assert tv.is_visible("#again")
        tv.screenshot(path=str(SCREENSHOTS / "tv-denied.png"))
