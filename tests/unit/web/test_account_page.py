"""``/account``: the person's own page, as JSON and HTML, and its passkey operations."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from idp import db
from idp.accounts.jpki_models import Basic4Record, JpkiAnchor
from idp.app import create_app, services_of
from idp.settings import Settings
from tests.support.login import login_session
from tests.support.webauthn_authenticator import SoftAuthenticator
from tests.unit.oidc.conftest import Rp, register
from tests.unit.web.test_passkey_flow import (
    FakeChecker,
    checker,
    log_out,
    register_passkey,
    sign_in,
)

__all__ = ["checker"]


def account(rp: Rp) -> dict[str, Any]:
    response = rp.browser.get("/account", headers={"Accept": "application/json"})
    assert response.status_code == 200, response.get_json()
    data: dict[str, Any] = response.get_json()
    return data


def post(rp: Rp, href: str, body: dict[str, Any], token: str | None) -> Any:
    headers = {"X-CSRF-Token": token} if token else {}
    return rp.browser.post(href, json=body, headers=headers)


def passkey_user(rp: Rp) -> str:
    """A person with one passkey, signed in with it (not with the card)."""
    authenticator = SoftAuthenticator()
    # the card login a minute ago, so that sign-ins have a clear order
    private_id, state = register_passkey(rp, authenticator, now=int(time.time()) - 60)
    rp.act(state, "consent", {"approve": True, "claims": state["requested"]["claims"]})
    log_out(rp)
    assert sign_in(rp, authenticator)[1].status_code == 200
    return private_id


def test_without_a_session_the_page_says_how_to_sign_in(rp: Rp) -> None:
    as_json = rp.browser.get("/account", headers={"Accept": "application/json"})
    assert as_json.status_code == 401
    assert as_json.get_json()["error"] == "login_required"
    page = rp.browser.get("/account")
    assert page.status_code == 401
    assert "マイナンバーカードまたはパスキーでログイン" in page.get_data(as_text=True)


def test_account_json_shows_passkeys_consents_and_sign_ins(
        rp: Rp, checker: FakeChecker) -> None:
    private_id = passkey_user(rp)
    view = account(rp)
    assert view["private_id"] == private_id
    assert view["state"] == "active"
    [passkey] = view["passkeys"]
    assert passkey["device_type"] == "single_device"
    assert passkey["synced"] is False
    assert passkey["last_used_at"] is not None
    assert "serial" in passkey["enrolled_anchor"]
    assert [c["name"] for c in view["consents"]] == ["Example RP"]
    methods = [s["method"] for s in view["sign_ins"]]
    assert methods == ["passkey", "card"]  # newest first: the card login, then the passkey
    assert view["sign_ins"][0]["current"] is True
    assert view["session"]["fresh_card_login"] is False


def test_rename_a_passkey(rp: Rp, checker: FakeChecker) -> None:
    passkey_user(rp)
    view = account(rp)
    href = f"/account/passkeys/{view['passkeys'][0]['id']}/rename"
    renamed = post(rp, href, {"name": "仕事用ノートPC"}, view["csrf_token"])
    assert renamed.status_code == 200
    assert account(rp)["passkeys"][0]["name"] == "仕事用ノートPC"
    empty = post(rp, href, {"name": ""}, view["csrf_token"])
    assert empty.status_code == 400
    assert empty.get_json()["error"] == "passkey_invalid_name"


def test_posts_without_the_csrf_token_are_refused(rp: Rp, checker: FakeChecker) -> None:
    passkey_user(rp)
    view = account(rp)
    answer = post(rp, f"/account/passkeys/{view['passkeys'][0]['id']}/rename", {"name": "x"},
                  None)
    assert answer.status_code == 403
    assert answer.get_json()["error"] == "csrf_failed"


def test_removing_the_last_passkey_needs_a_fresh_card_login(
        rp: Rp, checker: FakeChecker) -> None:
    private_id = passkey_user(rp)
    view = account(rp)
    href = f"/account/passkeys/{view['passkeys'][0]['id']}/remove"
    refused = post(rp, href, {}, view["csrf_token"])
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "passkey_last_needs_card_login"
    rp.login(private_id=private_id, now=int(time.time()) - 3600)  # a card login, but stale
    assert post(rp, href, {}, account(rp)["csrf_token"]).status_code == 403
    rp.login(private_id=private_id)  # a fresh card login
    fresh = account(rp)
    assert fresh["session"]["fresh_card_login"] is True
    assert post(rp, href, {}, fresh["csrf_token"]).status_code == 200
    assert account(rp)["passkeys"] == []


def test_someone_elses_passkey_cannot_be_removed(rp: Rp, checker: FakeChecker) -> None:
    passkey_user(rp)
    theirs = account(rp)["passkeys"][0]["id"]
    log_out(rp)
    rp.login()
    answer = post(rp, f"/account/passkeys/{theirs}/remove", {}, account(rp)["csrf_token"])
    assert answer.status_code == 404
    assert answer.get_json()["error"] == "passkey_not_found"


def test_the_page_is_japanese_by_default_and_english_on_request(
        rp: Rp, checker: FakeChecker) -> None:
    passkey_user(rp)
    japanese = rp.browser.get("/account").get_data(as_text=True)
    assert "パスキー" in japanese
    assert "デバイス固定" in japanese
    english = rp.browser.get("/account?lang=en").get_data(as_text=True)
    assert "Recent sign-ins" in english
    assert "device-bound" in english
    assert json.dumps(account(rp)["private_id"])[1:-1] in english


# -- the page reads well: dates in the person's language and zone, states in words ----------
EVENING_UTC = datetime(2026, 12, 2, 19, 30, tzinfo=UTC)  # 3 December 04:30 in Tokyo
SIGN_CA = "OU=Japan Agency for Local Authority Information Systems,OU=JPKI for digital " \
          "signature,O=JPKI,C=JP"
ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def visible(html: str) -> str:
    """The text a person reads: no tags, attributes or data blocks (which keep machine values:
    ``<time datetime>``, the page's JSON)."""
    return re.sub(r"<[^>]+>", " ", re.sub(r"<script.*?</script>", "", html, flags=re.S))


def moved_person(app: Flask, private_id: str | None = None) -> str:
    """A private ID anchored twice: signed up, moved (re-issued with a new certificate), the
    new certificate last checked and found revoked again (another change)."""
    if private_id is None:
        private_id, _ = login_session(app)
    info = {"name": "山田 太郎", "birth_date": "1980-02-17", "sex": "1",
            "address": "東京都千代田区永田町1-7-1"}
    with db.transaction(services_of(app).sessions) as session:
        session.add(JpkiAnchor(private_id=private_id, issuer_dn=SIGN_CA, issuer_key_id="k1",
                               serial_hex="0A01", certificate=b"old", state="current",
                               last_result="sign_good", superseded_by="0A02",
                               last_checked_at=EVENING_UTC - timedelta(days=30),
                               created_at=EVENING_UTC - timedelta(days=400),
                               not_after=int((EVENING_UTC + timedelta(days=1000)).timestamp())))
        session.add(JpkiAnchor(private_id=private_id, issuer_dn=SIGN_CA, issuer_key_id="k1",
                               serial_hex="0A02", certificate=b"new", state="needs_reissue",
                               last_result="sign_revoked:affiliation_changed",
                               last_checked_at=EVENING_UTC, created_at=EVENING_UTC
                               - timedelta(days=10), not_after=int(datetime(
                                   2031, 12, 2, 15, 0, tzinfo=UTC).timestamp())))
        session.add(Basic4Record(private_id=private_id, basic4=info, source="certificate",
                                 anchor_serial="0A01", current=False,
                                 recorded_at=EVENING_UTC - timedelta(days=400)))
        session.add(Basic4Record(private_id=private_id, basic4={
            **info, "address": "東京都港区芝公園4-2-8"}, source="certificate",
            anchor_serial="0A02", current=True, recorded_at=EVENING_UTC - timedelta(days=10)))
    return private_id


def test_the_anchor_history_and_states_read_as_words_in_japanese(rp: Rp) -> None:
    rp.login(private_id=moved_person(rp.app))
    html = rp.browser.get("/account").get_data(as_text=True)
    assert not ISO.search(visible(html)), "an ISO date is shown to the person"
    anchor = html[html.index('id="anchor"'):html.index('id="anchor-history"')]
    assert "再発行が必要" in anchor  # needs_reissue
    assert "署名用電子証明書が失効しています（記載事項の変更" in anchor
    assert "2026年12月3日 4:30 JST" in anchor  # last checked, Japan time
    assert "2031年12月3日" in anchor  # valid until: 15:00 UTC is the next day in Tokyo
    assert "JPKI for digital signature / Japan Agency for Local Authority" in anchor
    assert "needs_reissue" not in anchor.replace('data-state="needs_reissue"', "")
    assert "sign_revoked" not in anchor
    history = html[html.index('id="anchor-history"'):]
    assert "新しい証明書で再発行済み" in history
    assert 'title="0A02"' in history
    assert "利用中" in html  # the private ID's state


def test_the_4_info_history_says_what_changed_and_when(rp: Rp) -> None:
    rp.login(private_id=moved_person(rp.app))
    html = rp.browser.get("/account").get_data(as_text=True)
    history = html[html.index('id="basic4-history"'):]
    assert "住所が変わりました" in history
    assert "<del>東京都千代田区永田町1-7-1</del> → <ins>東京都港区芝公園4-2-8</ins>" in history
    assert "2026年11月23日 4:30 JST" in history  # when the move was recorded
    assert "初めての記録（登録）" in history
    assert "1980年2月17日" in html  # the birth date as a date, not 1980-02-17
    changed = [h["changed"] for h in account(rp)["basic4_history"]]
    assert changed == [["address"], []]  # the JSON face names the fields


def test_the_page_reads_in_english_and_in_the_configured_time_zone(
        sqlite_settings: Settings) -> None:
    settings = sqlite_settings.model_copy(update={"time_zone": "UTC"})
    app = create_app(settings)
    try:
        rp = Rp(app, app.test_client(), *register(app))
        rp.login(private_id=moved_person(app))
        html = rp.browser.get("/account?lang=en").get_data(as_text=True)
        assert "December 2, 2026 7:30\u202fPM UTC" in html
        assert "re-issue needed" in html
        assert "the signing certificate was revoked (recorded facts changed" in html
        assert "Address changed" in html
        assert "Times are shown in" in html
    finally:
        services_of(app).engine.dispose()


def test_the_json_face_keeps_machine_values(rp: Rp) -> None:
    rp.login(private_id=moved_person(rp.app))
    view = account(rp)
    assert view["state"] == "active"
    assert view["anchor"]["state"] == "needs_reissue"
    assert view["anchor"]["last_result"] == "sign_revoked:affiliation_changed"
    assert view["anchor"]["last_checked_at"] == "2026-12-02T19:30:00+00:00"
    assert view["anchor"]["not_after"] == "2031-12-02T15:00:00+00:00"
    assert view["anchor_history"][0]["superseded_by"] == "0A02"


def test_passkeys_consents_and_sign_ins_show_dates_and_words(
        rp: Rp, checker: FakeChecker) -> None:
    passkey_user(rp)
    html = rp.browser.get("/account").get_data(as_text=True)
    listed = html[html.index('id="passkeys"'):]
    # (the passkey's default name carries the day it was made: a name the person may change)
    assert not ISO.search(visible(re.sub(r'<td class="name">.*?</td>', "", listed)))
    assert "に同意" in listed  # consents: since when
    assert "受け取る情報" in listed
    assert "氏名" in listed
    assert "（このブラウザー）" in listed
    assert "urn:jpki-idp" not in listed  # levels in words
