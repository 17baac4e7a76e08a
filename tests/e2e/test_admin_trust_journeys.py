"""An administrator changes whom the platform trusts in the console, and the next person's login
shows it, in headless Chromium against the running IdP and the J-LIS simulator (the card
journeys' site, tests/e2e/card_site.py):

- holding the card medium to IAL1 on /admin/trust: the next passkey login reaches the relying
  party at the identity-unproven level (its ID token's ``acr``); rolled back, the level is back;
- retiring the card's auth CA generation (a high-risk action: the passkey is asked for again
  when the last confirmation is old): the next card login is refused, the page telling the
  person, in Japanese, that the issuing authority is no longer trusted.

Each journey puts the policy back as it found it (the site is shared by the module).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select, update

from idp import db
from idp.admin.models import AdminSession
from idp.app import services_of
from tests.e2e.card_site import (
    AUTH_PIN,
    SCREENSHOTS,
    Site,
    chromium,
    click,
    new_page,
    no_csp_violations,
    onboard,
    sim_server,
    site,
)
from tests.integration.card_login.conftest import card_sign, person
from tests.support.admin import sign_in_with_chromium

__all__ = ["chromium", "no_csp_violations", "sim_server", "site"]
pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.usefixtures("no_csp_violations")]
VERIFIED = {"verification": {"trust_framework": {"value": "jp_aml"}},
            "claims": {"name": None}}


@contextmanager
def policy_restored(site: Site) -> Iterator[int]:
    """The current trust policy version; made current again afterwards (as a new version)."""
    policy = services_of(site.app).trust_policy
    first = policy.current()
    try:
        yield first.version
    finally:
        if policy.current().policy != first.policy:
            policy.rollback(first.version, actor="cli:test", reason="test: put back")


def id_token(site: Site, rp_url: str, verifier: str) -> dict[str, Any]:
    """The claims of the ID token the relying party gets for the code it received."""
    code = parse_qs(urlsplit(rp_url).query)["code"][0]
    answer = requests.post(f"{site.base}/token", auth=(site.client_id, site.secret), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": f"{site.base}/rp/cb",
        "code_verifier": verifier}, timeout=10)
    assert answer.status_code == 200, answer.text
    payload = answer.json()["id_token"].split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload)
                                                                                  % 4)))
    return claims


def passkey_login_asking_verified(site: Site, page: Any) -> str:
    """Signed out, a passkey login at the relying party asking for the verified name in the ID
    token; the code verifier once back at the relying party."""
    page.context.clear_cookies()
    url, verifier = site.authorize_url()
    page.goto(url + "&claims=" + requests.utils.quote(json.dumps(
        {"id_token": {"verified_claims": VERIFIED}})))
    page.wait_for_function("() => location.pathname === '/rp/cb' || "
                           "!!document.querySelector('button[data-approve=true]')")
    if urlsplit(page.url).path != "/rp/cb":  # asked to consent to what is asked now
        with page.expect_navigation(url=f"{site.base}/rp/cb*"):
            click(page, "button[data-approve=true]")
    return verifier


def issuing_ca(card_file: str, purpose: str) -> str:
    """The fingerprint (SHA-256 of the DER) of the CA that issued the card's certificate, as
    the trust policy names it (the card file holds the CA certificate, docs/card.md)."""
    slot = json.loads(Path(card_file).read_text(encoding="utf-8"))[purpose]
    return hashlib.sha256(base64.b64decode(slot["ca_certificate"])).hexdigest()


def change_in_console(page: Any, site: Site, key: str, value: str, reason: str) -> None:
    page.goto(f"{site.base}/admin/trust")
    version = int(page.get_attribute("#policy-version", "data-version") or 0)
    page.fill("#set-form input[name=key]", key)
    page.fill("#set-form input[name=value]", value)
    page.fill("#set-form input[name=reason]", reason)
    with page.expect_navigation():
        page.click("#set-form button[type=submit]")
    assert page.get_attribute("#policy-version", "data-version") == str(version + 1)


def test_a_medium_held_to_ial1_in_the_console_shows_at_the_next_login(
        site: Site, chromium: Any, tmp_path: Path) -> None:
    hanako = person(site.sim, tmp_path, "佐藤　花子")
    page, _ = onboard(site, chromium, hanako["card_file"])
    verifier = passkey_login_asking_verified(site, page)
    before = id_token(site, page.url, verifier)
    assert before["acr"].endswith(":ial2-aal2")
    assert before["verified_claims"]["claims"]["name"] == "佐藤　花子"

    admin = chromium.new_context(locale="ja-JP")
    console = sign_in_with_chromium(admin, site.app, site.base, "alice", "admin")
    with policy_restored(site) as first:
        change_in_console(console, site, "media.card.max_ial", "1",
                          "カードを IAL1 までに制限（テスト）")
        assert "IAL1" in console.inner_text("#media")
        console.screenshot(path=str(SCREENSHOTS / "admin-trust-ial1.png"), full_page=True)

        verifier = passkey_login_asking_verified(site, page)  # the next login
        held = id_token(site, page.url, verifier)
        assert held["acr"].endswith(":ial1-aal2")  # the identity level is withheld

        back = console.locator(f"#versions tr[data-version='{first}']")
        back.locator("input[name=reason]").fill("元に戻す")
        with console.expect_navigation():
            back.locator("button").click()
        verifier = passkey_login_asking_verified(site, page)
        assert id_token(site, page.url, verifier)["acr"].endswith(":ial2-aal2")
    admin.close()


def test_a_ca_generation_retired_in_the_console_refuses_its_cards_at_the_next_login(
        site: Site, chromium: Any, tmp_path: Path) -> None:
    jiro = person(site.sim, tmp_path, "高橋　次郎")
    onboard(site, chromium, jiro["card_file"])
    issuer = issuing_ca(jiro["card_file"], "auth")  # the simulator's CA of the card

    admin = chromium.new_context(locale="ja-JP")
    console = sign_in_with_chromium(admin, site.app, site.base, "akira", "admin")
    with policy_restored(site) as first:
        # Long after signing in: retiring (high risk) asks for the passkey again.
        with db.transaction(services_of(site.app).sessions) as session:
            session.execute(update(AdminSession).values(confirmed_at=int(time.time()) - 3600))
        console.goto(f"{site.base}/admin/trust")
        row = console.locator(f"#anchors tr[data-purpose=auth][data-fingerprint='{issuer}']")
        assert "信頼する" in row.inner_text()
        row.locator("input[name=reason]").fill("利用者証明用 CA の世代を廃止（テスト）")
        with console.expect_navigation():
            row.locator("button").click()
        assert console.get_attribute("#policy-version", "data-version") == str(first + 1)
        assert "廃止" in row.inner_text()
        with services_of(site.app).sessions() as session:
            confirmed = session.scalars(select(AdminSession.confirmed_at)).all()
        assert max(confirmed) >= int(time.time()) - 60  # the passkey was asked for again
        history = console.inner_text(f"#versions tr[data-version='{first + 1}']")
        assert "admin:akira" in history
        assert "利用者証明用 CA の世代を廃止" in history

        page, _ = new_page(chromium, passkeys=False)  # the next card login
        page.goto(site.authorize_url()[0])
        click(page, "button[data-card=card]")
        page.wait_for_selector("#card-request:not([hidden])")
        url = page.get_attribute("#card-link", "href")
        assert url is not None
        refused = card_sign(url, jiro["card_file"], AUTH_PIN)
        assert refused.returncode == 1
        assert "ca_retired" in refused.stderr + refused.stdout
        page.wait_for_selector("#card-progress.error")
        assert "もう信頼されていません" in page.inner_text("#card-progress")
        page.screenshot(path=str(SCREENSHOTS / "card-ca-retired.png"), full_page=True)
    admin.close()
