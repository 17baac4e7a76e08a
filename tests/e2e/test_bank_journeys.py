"""テスト銀行's journeys in headless Chromium against the IdP, the J-LIS simulator and the
virtual card. The transfer is signed through the real PC/SC stack (a private pcscd with
vsmartcard's vpcd, the card attached by ``idp vcard attach``, ``idp card sign --reader``); the
onboarding and logins answer with ``idp card sign --card-file`` (the card request protocol, as
the other card journeys do). Each fails when the IdP delivers too little:

- a customer onboards at the IdP through the bank's login, opens an account on the verified
  claims of a current anchor, and approves a large transfer by signing its text with the card,
  which the bank verifies itself; without the signature (cancelled at the IdP) nothing moves;
- after a move whose re-issue the person skipped, the bank refuses the opening (its
  re-verification) and large transfers, and says to re-issue at the IdP; its back office lists
  the revocation the IdP pushed about that customer.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import ECKey
from werkzeug.serving import make_server

from idp import db
from idp.app import create_app, services_of, with_events_worker
from idp.settings import Settings
from rp_examples.bank import profile
from rp_examples.bank.settings import BankSettings
from tests.e2e.card_site import (
    SCREENSHOTS,
    SIGN_PIN,
    agree_to_terms,
    answer_shown_request,
    chromium,
    click,
    new_page,
    no_csp_violations,
)
from tests.integration.card_login.conftest import person
from tests.support import pcsc
from tests.support.rp_site import LiveIdp, LiveRp, live_rp
from tests.support.sim import RunningSim, sim_server

__all__ = ["chromium", "no_csp_violations", "sim_server"]
pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.usefixtures("no_csp_violations")]
AMOUNT = 2_500_000


@dataclass
class World:
    idp: LiveIdp
    bank: LiveRp
    sim: RunningSim


@pytest.fixture(scope="module")
def world(sim_server: RunningSim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The IdP (OCSP for both certificates, change events pushed to loopback) and the bank,
    registered with PAR + private_key_jwt and trusting the simulator's signing CAs."""
    var_dir = tmp_path_factory.mktemp("idp") / "var"
    var_dir.mkdir()
    assert sim_server.run("ca", "export", str(var_dir / "trust")).returncode == 0
    late: dict[str, Any] = {}
    server = make_server("127.0.0.1", 0, lambda e, s: late["app"](e, s), threaded=True)
    base = f"http://localhost:{server.server_port}"
    database_url = f"sqlite:///{var_dir / 'idp.sqlite3'}"
    db.upgrade(database_url)
    ocsp = {"method": "ocsp"}
    settings = Settings(var_dir=var_dir, database_url=database_url, oidc={"issuer": base},
                        webauthn={"origins": (base,)},
                        jlis={"url": sim_server.url, "api_key": sim_server.api_key},
                        trust={"sign": ocsp, "auth": ocsp},
                        events={"allow_http_loopback": True, "worker_interval_seconds": 0.2})
    app = late["app"] = with_events_worker(create_app(settings))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    key = {**ECKey.generate_key("P-256").as_dict(private=True), "kid": "bank-1"}
    bank = BankSettings(data_dir=var_dir.parent / "bank", jpki_ca_dir=var_dir / "trust" / "sign")
    try:
        with live_rp(profile(bank), LiveIdp(base, app), private_jwk=key) as rp:
            yield World(LiveIdp(base, app), rp, sim_server)
    finally:
        app.extensions["idp.events_worker"].stop()
        server.shutdown()
        thread.join()
        services_of(app).engine.dispose()


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pcsc.PcscStack]:
    reason = pcsc.missing()
    if reason:
        pytest.fail(reason)  # a `pcsc` test must run where `make test` installed the stack
    with pcsc.private_pcscd(tmp_path_factory.mktemp("pcscd")) as running:
        yield running


def _sign_with_reader(page: Any, reader: pcsc.PcscStack, card_file: str) -> None:
    """Press the IdP's sign button; answer its card request with the card in the reader."""
    click(page, "button[data-card=sign]")
    page.wait_for_selector("#card-request:not([hidden])")
    url = page.get_attribute("#card-link", "href")
    assert url is not None
    assert page.inner_text("#card-command-reader").startswith(f"idp card sign {url}")
    with reader.attached(Path(card_file)):
        signed = subprocess.run(
            [pcsc.IDP, "card", "sign", url, "--reader", reader.reader, "--pin", SIGN_PIN,
             "--yes"], env=reader.env(), capture_output=True, text=True, timeout=120,
            check=False)
    assert signed.returncode == 0, signed.stderr
    assert "振込の承認" in signed.stderr  # the card app showed the document before the PIN


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def _join(world: World, chromium: Any, card_file: str,
          screenshots: bool = False) -> Any:
    """The bank's everyday login by a newcomer: onboarding with the card at the IdP, a
    passkey, the consent; back at the bank, logged in."""
    idp, bank = world.idp, world.bank
    page, _ = new_page(chromium, passkeys=True)
    page.goto(bank.url)
    if screenshots:
        _shot(page, "bank-home.png")
    with page.expect_navigation(url=f"{idp.url}/interaction/*"):
        page.click("#login-main")
    agree_to_terms(page)
    answer_shown_request(page, card_file, SIGN_PIN)
    page.wait_for_selector("#passkey-register")
    with page.expect_navigation():
        click(page, "#passkey-register")
    with page.expect_navigation(url=f"{bank.url}/"):
        click(page, "button[data-approve=true]")
    assert page.locator("#logout").count() == 1  # logged in at the bank
    return page


def _approve_consent_if_asked(page: Any, bank: LiveRp) -> None:
    """The IdP asks consent for what it was not given yet (the verified claims)."""
    page.wait_for_function(
        "() => location.href.startsWith(" + repr(bank.url) + ") || "
        "document.querySelector('button[data-approve=true]') !== null")
    if not page.url.startswith(bank.url):
        with page.expect_navigation(url=f"{bank.url}/**"):
            click(page, "button[data-approve=true]")


@pytest.mark.pcsc
def test_a_customer_opens_an_account_and_signs_a_large_transfer_with_the_card(
        world: World, chromium: Any, reader: pcsc.PcscStack, tmp_path: Path) -> None:
    idp, bank = world.idp, world.bank
    hanako = person(world.sim, tmp_path, "青木　花子")
    page = _join(world, chromium, hanako["card_file"], screenshots=True)

    page.goto(f"{bank.url}/open-account")
    page.click("#open-button")
    _approve_consent_if_asked(page, bank)
    page.wait_for_selector("#outcome[data-ok=true]")
    assert page.inner_text("#holder") == "青木　花子"
    assert page.inner_text("#serial") == format(int(hanako["sign_serial"], 16), "x")
    _shot(page, "bank-account-opened.png")

    # A large transfer: the bank asks the IdP for the card's signature over the text.
    page.goto(f"{bank.url}/transfer?amount={AMOUNT}")
    _shot(page, "bank-transfer.png")
    with page.expect_navigation(url=f"{idp.url}/interaction/*"):
        page.click("#send")
    page.wait_for_selector("#document-text")
    assert "金額: 2,500,000円" in page.inner_text("#document-text")
    _shot(page, "bank-sign-transfer.png")

    # Cancelled at the IdP: the transfer is not made, and the bank says why.
    with page.expect_navigation(url=f"{bank.url}/transfer/*"):
        click(page, "#abort")
    assert page.get_attribute("#outcome", "data-status") == "pending"
    assert "振込は実行されていません" in page.inner_text("#why")
    assert page.locator("#signature").count() == 0

    # Signed with the card: the bank verifies the signature itself, then the API makes it.
    with page.expect_navigation(url=f"{idp.url}/interaction/*"):
        page.click("#sign")
    page.wait_for_selector("#document-text")
    _sign_with_reader(page, reader, hanako["card_file"])
    page.wait_for_url(f"{bank.url}/transfer/*")
    page.wait_for_selector("#signature")
    assert page.get_attribute("#outcome", "data-status") == "executed"
    assert page.inner_text("#signer") == "青木　花子"
    assert page.inner_text("#certificate-serial") == format(int(hanako["sign_serial"], 16),
                                                            "x")
    assert "J-LIS" in page.inner_text("#signature")
    _shot(page, "bank-transfer-signed.png")


def test_after_a_move_whose_reissue_was_skipped_the_bank_refuses_the_opening(
        world: World, chromium: Any, tmp_path: Path) -> None:
    bank = world.bank
    jiro = person(world.sim, tmp_path, "石井　次郎")
    page = _join(world, chromium, jiro["card_file"])
    page.goto(f"{bank.url}/open-account")
    page.click("#open-button")
    _approve_consent_if_asked(page, bank)
    page.wait_for_selector("#outcome[data-ok=true]")  # a customer since before the move
    world.sim.cli("person", "move", jiro["person_id"], "--address", "大阪府大阪市北区1-1")

    page.context.clear_cookies()  # another day: a new visit, a new login at the IdP
    page.goto(f"{bank.url}/open-account")
    page.click("#open-button")
    page.wait_for_selector("button[data-card=reissue]")  # the passkey login found the move
    _shot(page, "bank-reissue-offered.png")
    click(page, "#skip")
    _approve_consent_if_asked(page, bank)
    page.wait_for_selector("#outcome[data-ok=false]")
    assert page.get_attribute("#outcome", "data-reason") == "not_proven"
    assert "再発行" in page.inner_text("#why")
    assert page.inner_text("#address") == "東京都千代田区永田町1-7-1"  # the record stays
    _shot(page, "bank-opening-refused.png")
    page.goto(f"{bank.url}/whoami")
    who = page.inner_text("body").replace(" ", "")
    assert '"open_account":false' in who
    assert '"transfer_large":false' in who  # no large transfer on an identity not current

    # The IdP's re-check that found the move told the bank, over its Shared Signals stream.
    page.goto(f"{bank.url}/back-office")
    page.wait_for_function(
        "() => { if (document.querySelector('tr[data-event=credential-change]')) return true;"
        " setTimeout(() => location.reload(), 500); return false; }", polling=1000)
    notice = page.locator("tr[data-event=credential-change]").first.inner_text()
    assert "石井　次郎" in notice  # named as the bank's customer
    assert "署名用電子証明書" in notice
    assert "失効しました" in notice
    assert page.locator("tr[data-event=assurance-level-change]").count() >= 1
    _shot(page, "bank-back-office.png")
