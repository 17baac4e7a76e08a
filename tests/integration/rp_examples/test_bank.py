"""テスト銀行 against a live IdP, driven by a requests browser: account opening reads the
verified claims the IdP delivers (and refuses, in words, when it delivers too little), the
transfer API's rules and the front following them to the IdP, and the back office's Shared
Signals stream receiving, verifying and describing pushed events."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from joserfc.jwk import ECKey

from idp.accounts.changes import Change
from idp.app import services_of, with_events_worker
from idp.assurance import levels
from idp.settings import Settings
from rp_examples.bank import profile
from rp_examples.bank.settings import BankSettings
from tests.support.anchor import anchor
from tests.support.rp_site import LiveIdp, LiveRp, live_idp, live_rp

pytestmark = pytest.mark.slow
NOW_PHR = levels.IAL2_AAL2_PHR_NOW.value
PASSKEY = ("hwk", "user", "mfa")


@contextmanager
def _bank(settings: Settings, tmp_path: Path, **bank: Any) -> Iterator[tuple[LiveIdp, LiveRp]]:
    events = settings.events.model_copy(update={
        "allow_http_loopback": True, "worker_interval_seconds": 0.2,
        "push_retry_seconds": 0.2, "push_timeout_seconds": 2})
    key = {**ECKey.generate_key("P-256").as_dict(private=True), "kid": "bank-1"}
    with live_idp(settings.model_copy(update={"events": events})) as idp:
        worker = with_events_worker(idp.app).extensions["idp.events_worker"]
        try:
            config = BankSettings(data_dir=tmp_path / "bank", **bank)
            with live_rp(profile(config), idp, private_jwk=key) as rp:
                yield idp, rp
        finally:
            worker.stop()


def _open(idp: LiveIdp, rp: LiveRp, browser: requests.Session) -> requests.Response:
    page = idp.follow(browser, f"{rp.url}/login?action=open_account&next=/open-account")
    assert page.status_code == 200, page.text
    assert page.url == f"{rp.url}/open-account"
    return page


def _customer(idp: LiveIdp, *, acr: str = NOW_PHR, anchored: bool = True,
              **kwargs: Any) -> requests.Session:
    private_id, _ = idp.login_cookie(acr=acr, amr=PASSKEY)
    if anchored:
        anchor(idp.app, private_id, **kwargs)
    browser = idp.browser(private_id=private_id, acr=acr, amr=PASSKEY)
    browser.private_id = private_id  # type: ignore[attr-defined]
    return browser


def test_account_opening_with_a_current_anchor_records_the_verified_identity(
        sqlite_settings: Settings, tmp_path: Path) -> None:
    with _bank(sqlite_settings, tmp_path, events=False) as (idp, rp):
        browser = _customer(idp)
        page = _open(idp, rp, browser)
        assert "口座を開設しました" in page.text
        assert "山田　太郎" in page.text
        assert "0a1b2c3d" in page.text  # the evidence: the signing certificate's serial
        who = browser.get(f"{rp.url}/whoami").json()
        assert who["allowed"]["open_account"] is True
        assert who["allowed"]["transfer_small"] is True
        assert who["allowed"]["transfer_large"] is True
        assert who["claims"]["verified_claims"]["verification"]["trust_framework"] == "jp_aml"


def test_account_opening_without_a_current_anchor_says_to_reissue(
        sqlite_settings: Settings, tmp_path: Path) -> None:
    with _bank(sqlite_settings, tmp_path, events=False) as (idp, rp):
        browser = _customer(idp, acr=levels.IAL1_AAL2_PHR.value, anchored=False)
        page = _open(idp, rp, browser)
        assert "口座を開設できませんでした" in page.text
        assert "再発行" in page.text
        who = browser.get(f"{rp.url}/whoami").json()
        assert who["allowed"] == {"login": True, "open_account": False,
                                  "transfer_small": False, "transfer_large": False}
        assert "再発行" in who["why"]["open_account"]
        english = browser.get(f"{rp.url}/whoami?lang=en").json()
        assert "Re-issue" in english["why"]["open_account"]


def test_an_anchor_checked_long_ago_is_not_enough(sqlite_settings: Settings,
                                                   tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    with _bank(sqlite_settings, tmp_path, events=False) as (idp, rp):
        browser = _customer(idp, checked_at=datetime.now(UTC) - timedelta(days=2))
        page = _open(idp, rp, browser)
        assert 'data-reason="stale_verification"' in page.text


def _transfer(rp: LiveRp, browser: requests.Session, amount: int) -> requests.Response:
    form = browser.get(f"{rp.url}/transfer?amount={amount}")
    csrf = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    return browser.post(f"{rp.url}/transfer", allow_redirects=False,
                        data={"csrf_token": csrf, "amount": str(amount),
                              "payee": "青空銀行 本店 普通 1234567 ヤマダ ハナコ"})


def test_a_small_transfer_is_made_with_the_everyday_login(sqlite_settings: Settings,
                                                          tmp_path: Path) -> None:
    with _bank(sqlite_settings, tmp_path, events=False) as (idp, rp):
        browser = _customer(idp)
        _open(idp, rp, browser)
        sent = _transfer(rp, browser, 30_000)
        assert sent.status_code == 302, sent.text
        page = browser.get(rp.url + sent.headers["Location"])
        assert 'data-status="executed"' in page.text


def test_a_large_transfer_goes_to_the_idp_to_be_signed_and_is_not_made_when_refused(
        sqlite_settings: Settings, tmp_path: Path) -> None:
    with _bank(sqlite_settings, tmp_path, events=False) as (idp, rp):
        browser = _customer(idp)
        _open(idp, rp, browser)
        sent = _transfer(rp, browser, 2_500_000)
        assert sent.status_code == 302, sent.text
        to_idp = sent.headers["Location"]
        assert to_idp.startswith(idp.url)
        assert "request_uri=" in to_idp  # pushed (PAR)
        first = browser.get(to_idp, allow_redirects=False).headers["Location"]
        state = browser.get(requests.compat.urljoin(to_idp, first),
                            headers={"Accept": "application/json"}).json()
        assert state["prompt"] == "sign", state
        assert "金額: 2,500,000円" in state["document"]["text"]
        back = browser.post(idp.url + state["actions"]["abort"]["href"], json={},
                            headers={"X-CSRF-Token": state["csrf_token"]}).json()["redirect_to"]
        page = idp.follow(browser, back)
        assert 'data-status="pending"' in page.text
        assert "振込は実行されていません" in page.text
        assert "access_denied" in page.text
        [transfer] = [line for line in page.text.splitlines() if "取引番号" in line]
        assert transfer


def test_the_api_refuses_other_tokens_and_challenges_an_old_login(
        sqlite_settings: Settings, tmp_path: Path) -> None:
    with _bank(sqlite_settings, tmp_path, events=False, step_up_max_age=1) as (idp, rp):
        browser = _customer(idp)
        _open(idp, rp, browser)
        api = f"{rp.url}/api/transfers"
        assert requests.post(api, json={"transfer_id": "x"}, timeout=5).status_code == 401
        forged = requests.post(api, json={"transfer_id": "x"}, timeout=5,
                               headers={"Authorization": "Bearer e30.e30.c2ln"})
        assert forged.status_code == 401
        assert forged.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
        time.sleep(2.1)  # the login is now older than the bank's max_age for large transfers
        sent = _transfer(rp, browser, 2_500_000)
        to_idp = sent.headers["Location"]
        assert "request_uri=" in to_idp
        # The challenge's max_age went into the pushed request: the IdP asks for a login.
        first = browser.get(to_idp, allow_redirects=False).headers["Location"]
        state = browser.get(requests.compat.urljoin(to_idp, first),
                            headers={"Accept": "application/json"}).json()
        assert state["prompt"] == "login", state
        assert "max_age" in state.get("reasons", []), state


def test_the_back_office_receives_verifies_and_describes_pushed_events(
        sqlite_settings: Settings, tmp_path: Path) -> None:
    with _bank(sqlite_settings, tmp_path) as (idp, rp):
        page = _wait_for(rp, 'data-event="verification"')
        assert 'data-connected="true"' in page
        assert "イベント受信の確認" in page
        forged = requests.post(f"{rp.url}/ssf/events", data="e30.e30.c2ln", timeout=5,
                               headers={"Content-Type": "application/secevent+jwt"})
        assert forged.status_code == 400
        assert forged.json()["err"] == "authentication_failed"

        # A customer moves: the IdP's re-issue tells the bank the new address, then an
        # administrator suspends the account; the bank's session of that customer ends.
        browser = _customer(idp)
        _open(idp, rp, browser)
        sub = browser.get(f"{rp.url}/whoami").json()["sub"]
        private_id = browser.private_id  # type: ignore[attr-defined]
        _emit(idp, Change(private_id, int(time.time()), "user",
                          claims={"address": {"formatted": "大阪府大阪市北区1-1",
                                              "country": "JP"}}))
        _emit(idp, Change(private_id, int(time.time()), "admin",
                          account=("active", "suspended")))
        page = _wait_for(rp, 'data-event="account-disabled"')
        assert "住所が変更されました（新しい住所: 大阪府大阪市北区1-1）— 確認してください" in page
        assert f'data-subject="{sub}"' in page
        assert "山田　太郎" in page  # named as the bank's customer
        assert browser.get(f"{rp.url}/whoami").json()["logged_in"] is False
        english = requests.get(f"{rp.url}/back-office?lang=en", timeout=5).text
        assert "address changed (new address: 大阪府大阪市北区1-1)" in english


def _emit(idp: LiveIdp, change: Change) -> None:
    """A change as the IdP's anchor check or admin would record it (its own sink)."""
    from idp import db

    services = services_of(idp.app)
    with db.transaction(services.sessions) as session:
        services.changes.record(session, [change])


def _wait_for(rp: LiveRp, marker: str) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        page = requests.get(f"{rp.url}/back-office", timeout=5).text
        if marker in page:
            return page
        time.sleep(0.2)
    raise AssertionError(f"{marker} never reached the back office")


def test_bad_input_gets_a_clear_refusal_never_a_crash(sqlite_settings: Settings,
                                                      tmp_path: Path) -> None:
    with _bank(sqlite_settings, tmp_path, events=False) as (idp, rp):
        browser = _customer(idp)
        _open(idp, rp, browser)
        stranger = _customer(idp, serial="0b")
        _open(idp, rp, stranger)
        sent = _transfer(rp, browser, 30_000)
        mine = sent.headers["Location"]
        assert stranger.get(rp.url + mine).status_code == 404  # another customer's transfer
        assert browser.get(f"{rp.url}/transfer/TX-nothing").status_code == 404
        form = browser.get(f"{rp.url}/transfer").text
        csrf = form.split('name="csrf_token" value="')[1].split('"')[0]
        for amount in ("", "-1", "1e9", "九百円", "9" * 40):
            refused = browser.post(f"{rp.url}/transfer", data={
                "csrf_token": csrf, "amount": amount, "payee": "青空銀行"})
            assert refused.status_code == 400, amount
        assert browser.post(f"{rp.url}/transfer", data={
            "csrf_token": "forged", "amount": "5", "payee": "x"}).status_code == 400
        api = f"{rp.url}/api/transfers"
        bearer = {"Authorization": "Bearer x"}
        assert requests.post(api, data="[", headers=bearer, timeout=5).status_code == 400
        assert requests.post(api, json={"transfer_id": 5}, headers=bearer,
                             timeout=5).status_code == 400
        assert requests.post(f"{rp.url}/ssf/events", data="x", timeout=5).status_code == 400
