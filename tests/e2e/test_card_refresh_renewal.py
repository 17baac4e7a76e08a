"""The consented 4-info refresh and a card renewal in headless Chromium (tests/e2e/card_site.py).

Refresh (seed 004, point 3): after a move the person lets J-LIS provide the latest 4 info; the
page shows the consent text first, and the card signs that text with its current signing key.
Renewal: J-LIS renews the card's certificates; the card login with the new auth certificate
lands on the same private ID through J-LIS's old→new serial link (新旧シリアル番号紐付け).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.card_site import (
    SCREENSHOTS,
    SIGN_PIN,
    Site,
    answer_with_card,
    card_login,
    chromium,
    click,
    no_csp_violations,
    onboard,
    sim_server,
    site,
)
from tests.integration.card_login.conftest import card_sign, person

__all__ = ["chromium", "no_csp_violations", "sim_server", "site"]
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("no_csp_violations")]
NEW_ADDRESS = "福岡県福岡市中央区天神2-2"


def test_a_consented_4info_refresh_after_a_move_makes_the_claims_current_again(
        site: Site, chromium: Any, tmp_path: Path) -> None:
    shiro = person(site.sim, tmp_path, "木村　志郎")
    _, sub = onboard(site, chromium, shiro["card_file"])
    card_login(site, chromium, shiro["card_file"])[0].wait_for_url(f"{site.base}/rp/cb*")
    site.sim.cli("person", "move", shiro["person_id"], "--address", NEW_ADDRESS)

    page, verifier = card_login(site, chromium, shiro["card_file"])
    click(page, "button[data-card=refresh_4info]")
    page.wait_for_selector("#consent-panel:not([hidden])")
    assert "J-LIS" in page.inner_text("#consent-text")
    assert page.locator("#card-request").is_hidden()  # nothing to sign before the consent
    page.screenshot(path=str(SCREENSHOTS / "refresh-consent.png"), full_page=True)
    page.click("#consent-approve")
    page.wait_for_selector("#card-request:not([hidden])")
    url = page.get_attribute("#card-link", "href")
    assert url is not None
    signed = card_sign(url, shiro["card_file"], SIGN_PIN)
    assert signed.returncode == 0, signed.stderr
    page.wait_for_url(f"{site.base}/rp/cb*")
    claims = site.claims(page.url, verifier)
    assert claims["sub"] == sub
    assert claims["address"]["formatted"] == NEW_ADDRESS

    page.goto(f"{site.base}/account")
    assert NEW_ADDRESS in page.inner_text("#basic4")
    assert page.locator("#basic4-history li[data-source=jlis_provision]").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "refresh-account.png"), full_page=True)


def test_after_a_renewal_the_new_auth_certificate_lands_on_the_same_private_id(
        site: Site, chromium: Any, tmp_path: Path) -> None:
    kumi = person(site.sim, tmp_path, "林　久美", birth="1975-11-03")
    _, sub = onboard(site, chromium, kumi["card_file"])
    card_login(site, chromium, kumi["card_file"])[0].wait_for_url(f"{site.base}/rp/cb*")
    renewed = site.sim.cli("person", "renew", kumi["person_id"])
    assert renewed["auth_serial"] != kumi["auth_serial"]

    page, verifier = card_login(site, chromium, kumi["card_file"])
    # Known through the old→new link; the renewed signing certificate asks for a re-issue.
    page.wait_for_selector("button[data-card=reissue]")
    assert site.auth_link_via(renewed["auth_serial"]) == "jlis_previous"
    page.screenshot(path=str(SCREENSHOTS / "renewal.png"), full_page=True)
    answer_with_card(page, "reissue", kumi["card_file"], SIGN_PIN)
    page.wait_for_url(f"{site.base}/rp/cb*")
    assert site.claims(page.url, verifier)["sub"] == sub

    again, verifier = card_login(site, chromium, kumi["card_file"])
    again.wait_for_url(f"{site.base}/rp/cb*")  # linked now, anchor current: straight back
    assert site.claims(again.url, verifier)["sub"] == sub
    assert site.account_state(renewed["sign_serial"]) == "active"
