"""Card journeys in headless Chromium: onboarding and passkeys, card login, a move and its
re-issue, a lost card, death (the running IdP and simulator: tests/e2e/card_site.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.card_site import (
    AUTH_PIN,
    SCREENSHOTS,
    SIGN_PIN,
    Site,
    answer_with_card,
    card_login,
    chromium,
    click,
    new_page,
    no_csp_violations,
    onboard,
    passkey_login,
    sim_server,
    site,
)
from tests.integration.card_login.conftest import card_sign, person

__all__ = ["chromium", "no_csp_violations", "sim_server", "site"]
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("no_csp_violations")]
# The passkey refusals of a suspended and of a closed private ID, as the page shows them. Written
# as functions: Playwright polls a bare expression with eval, which the pages' CSP refuses.
SHOWN = "() => document.getElementById('message').textContent.includes('{}')"
SUSPENDED_SHOWN = SHOWN.format("この民間IDは停止中です")
CLOSED_SHOWN = SHOWN.format("この民間IDは閉鎖されています")


def test_onboard_register_a_passkey_then_sign_in_with_it(site: Site, chromium: Any,
                                                         tmp_path: Path) -> None:
    taro = person(site.sim, tmp_path, "山田　太郎")
    page, _ = onboard(site, chromium, taro["card_file"], screenshot="card-request.png",
                      terms_screenshot="terms.png")
    verifier = passkey_login(site, page)
    page.wait_for_url(f"{site.base}/rp/cb*")
    assert site.claims(page.url, verifier)["name"] == "山田　太郎"
    page.goto(f"{site.base}/account")
    assert page.locator("#passkeys tr[data-id]").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "card-account.png"), full_page=True)


def test_card_login_then_a_move_asks_for_a_reissue_that_makes_claims_current(
        site: Site, chromium: Any, tmp_path: Path) -> None:
    jiro = person(site.sim, tmp_path, "鈴木　次郎")
    onboard(site, chromium, jiro["card_file"])
    page, verifier = card_login(site, chromium, jiro["card_file"])
    page.wait_for_url(f"{site.base}/rp/cb*")
    assert site.claims(page.url, verifier)["name"] == "鈴木　次郎"

    site.sim.cli("person", "move", jiro["person_id"], "--address", "大阪府大阪市北区1-1")
    page, verifier = card_login(site, chromium, jiro["card_file"])
    page.wait_for_selector("button[data-card=reissue]")
    assert "再発行" in page.inner_text("#message")
    page.screenshot(path=str(SCREENSHOTS / "reissue.png"), full_page=True)
    answer_with_card(page, "reissue", jiro["card_file"], SIGN_PIN)
    page.wait_for_url(f"{site.base}/rp/cb*")
    claims = site.claims(page.url, verifier)
    assert claims["address"]["formatted"] == "大阪府大阪市北区1-1"


def _refused_card_login(site: Site, chromium: Any, card_file: str) -> Any:
    """The card's answer is refused; the page says so in Japanese and stays put."""
    page, _ = new_page(chromium, passkeys=False)
    page.goto(site.authorize_url()[0])
    click(page, "button[data-card=card]")
    page.wait_for_selector("#card-request:not([hidden])")
    url = page.get_attribute("#card-link", "href")
    assert url is not None
    assert card_sign(url, card_file, AUTH_PIN).returncode == 1
    page.wait_for_selector("#card-progress.error")
    assert "失効" in page.inner_text("#card-progress")
    return page


def test_a_lost_card_suspends_the_account_and_the_passkey_says_so(
        site: Site, chromium: Any, tmp_path: Path) -> None:
    goro = person(site.sim, tmp_path, "渡辺　五郎")
    page, _ = onboard(site, chromium, goro["card_file"])
    card_login(site, chromium, goro["card_file"])[0].wait_for_url(f"{site.base}/rp/cb*")
    site.sim.cli("person", "lose-card", goro["person_id"])
    _refused_card_login(site, chromium, goro["card_file"])
    assert site.account_state(goro["sign_serial"]) == "suspended"
    passkey_login(site, page)
    page.wait_for_function(SUSPENDED_SHOWN)
    assert "新しいカード" in page.inner_text("#message")  # what to do next
    page.screenshot(path=str(SCREENSHOTS / "suspended.png"), full_page=True)


def test_death_closes_the_account(site: Site, chromium: Any, tmp_path: Path) -> None:
    rokuro = person(site.sim, tmp_path, "山本　六郎")
    page, _ = onboard(site, chromium, rokuro["card_file"])
    card_login(site, chromium, rokuro["card_file"])[0].wait_for_url(f"{site.base}/rp/cb*")
    site.sim.cli("person", "die", rokuro["person_id"])
    _refused_card_login(site, chromium, rokuro["card_file"])
    assert site.account_state(rokuro["sign_serial"]) == "closed"
    passkey_login(site, page)
    page.wait_for_function(CLOSED_SHOWN)
    assert "再発行" not in page.inner_text("#message")  # nothing restores a closed ID
    page.screenshot(path=str(SCREENSHOTS / "closed.png"), full_page=True)
