"""``/account``: the person's own page, as JSON and HTML, and its passkey operations."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.support.webauthn_authenticator import SoftAuthenticator
from tests.unit.oidc.conftest import Rp
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
