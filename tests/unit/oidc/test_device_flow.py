"""The device authorization grant (RFC 8628) over HTTP, on SQLite and PostgreSQL: codes, the
polling states, approval on /device, tokens once, refusals."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from idp import db
from idp.accounts.models import PrivateId
from idp.accounts.sessions import COOKIE_NAME
from idp.app import create_app, services_of
from idp.oidc.models import DeviceAuthorization, Interaction
from idp.settings import Settings
from tests.support.device import Phone, Tv, register_tv
from tests.support.login import login_session
from tests.unit.oidc.conftest import ISSUER, register

GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    oidc = settings.oidc.model_copy(update={"issuer": ISSUER})
    application = create_app(settings.model_copy(update={"oidc": oidc}))
    yield application
    services_of(application).engine.dispose()


@pytest.fixture
def tv(app: Flask) -> Tv:
    return Tv.of(app, register_tv(app))


@pytest.fixture
def phone(app: Flask) -> Phone:
    return Phone(app.test_client())


def signed_in(app: Flask, phone: Phone, **login: Any) -> str:
    private_id, cookie = login_session(app, **login)
    phone.http.set_cookie(COOKIE_NAME, cookie, domain="localhost")
    return private_id


def approve(phone: Phone, user_code: str, *, consent: bool = True) -> dict[str, Any]:
    """Type the code, consent, and approve: the /device/done face."""
    entered = phone.enter(user_code)
    assert entered.status_code == 200, entered.get_json()
    location = entered.get_json()["redirect_to"]
    state = phone.interaction(location)
    if state["prompt"] == "consent":
        phone.act(state, "consent", {"approve": consent, "claims": state["requested"]["claims"]})
        state = phone.interaction(location)
    assert state["prompt"] == "approve", state
    assert state["device"]["user_code"] == user_code
    assert user_code in state["message"]
    answer = phone.act(state, "approve")
    assert answer.status_code == 200, answer.get_json()
    done = phone.http.get(answer.get_json()["redirect_to"].removeprefix(ISSUER),
                          headers={"Accept": "application/json"})
    found: dict[str, Any] = done.get_json()
    return found


def claims_of(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    found: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload)
                                                                              % 4)))
    return found


def test_discovery_names_the_device_endpoint_and_grant(app: Flask) -> None:
    metadata = app.test_client().get("/.well-known/openid-configuration").get_json()
    assert metadata["device_authorization_endpoint"] == ISSUER + "/device_authorization"
    assert GRANT in metadata["grant_types_supported"]


def test_the_device_gets_codes_a_verification_uri_and_an_interval(tv: Tv) -> None:
    answer = tv.authorize()
    assert answer.headers["Cache-Control"] == "no-store"
    codes = answer.get_json()
    assert set(codes) == {"device_code", "user_code", "verification_uri",
                          "verification_uri_complete", "expires_in", "interval"}
    assert codes["verification_uri"] == ISSUER + "/device"
    user_code = codes["user_code"].replace("-", "")
    assert codes["verification_uri_complete"] == f"{ISSUER}/device?user_code={user_code}"
    assert codes["user_code"][4] == "-"
    assert len(codes["user_code"]) == 9
    assert (codes["expires_in"], codes["interval"]) == (600, 5)


def test_a_code_flow_client_or_an_unknown_one_gets_no_device_codes(app: Flask, tv: Tv) -> None:
    web_client, _ = register(app, auth_method="none")
    refused = tv.authorize(client_id=web_client)
    assert (refused.status_code, refused.get_json()["error"]) == (400, "unauthorized_client")
    unknown = tv.authorize(client_id="rp_nobody")
    assert (unknown.status_code, unknown.get_json()["error"]) == (401, "invalid_client")
    no_openid = tv.authorize(scope="profile")
    assert no_openid.get_json()["error"] == "invalid_scope"


def test_polling_pending_then_too_fast_slows_the_device_down_by_five_seconds(tv: Tv) -> None:
    codes = tv.codes()
    first = tv.poll(codes["device_code"])
    assert (first.status_code, first.get_json()["error"]) == (400, "authorization_pending")
    too_fast = tv.poll(codes["device_code"])
    assert too_fast.get_json()["error"] == "slow_down"
    assert "10 seconds" in too_fast.get_json()["error_description"]
    tv.wait(codes["device_code"], 7)  # enough before slow_down, not after (interval now 10)
    assert tv.poll(codes["device_code"]).get_json()["error"] == "slow_down"
    tv.wait(codes["device_code"], 16)  # 15 s from now on
    assert tv.poll(codes["device_code"]).get_json()["error"] == "authorization_pending"
    # Waiting is the protocol, not a refusal: nothing in the audit log.
    assert services_of(tv.app).audit.entries(action="token.refused") == []


def test_an_approved_device_gets_tokens_once_at_the_level_of_the_approval(
        app: Flask, tv: Tv, phone: Phone) -> None:
    codes = tv.codes()
    assert tv.poll(codes["device_code"]).get_json()["error"] == "authorization_pending"
    signed_in(app, phone, acr="urn:jpki-idp:acr:ial2-aal2", amr=("sc", "hwk", "pin", "mfa"))
    done = approve(phone, codes["user_code"])
    assert done["status"] == "approved"
    tv.wait(codes["device_code"])
    tokens = tv.poll(codes["device_code"])
    assert tokens.status_code == 200, tokens.get_json()
    body = tokens.get_json()
    id_token = claims_of(body["id_token"])
    assert id_token["aud"] == tv.client_id
    assert id_token["acr"] == "urn:jpki-idp:acr:ial2-aal2"
    assert id_token["amr"] == ["sc", "hwk", "pin", "mfa"]
    assert isinstance(id_token["auth_time"], int)
    assert claims_of(body["access_token"])["acr"] == "urn:jpki-idp:acr:ial2-aal2"
    userinfo = tv.http.get("/userinfo", headers={"Authorization": "Bearer "
                                                 + body["access_token"]})
    assert userinfo.get_json()["name"] == "山田 太郎"
    tv.wait(codes["device_code"])
    again = tv.poll(codes["device_code"])
    assert (again.status_code, again.get_json()["error"]) == (400, "invalid_grant")
    revoked = tv.http.get("/userinfo", headers={"Authorization": "Bearer "
                                                + body["access_token"]})
    assert revoked.status_code == 401  # the replay took back what the code gave


def test_a_denied_request_answers_access_denied_on_every_poll_then_expired_token(
        app: Flask, tv: Tv, phone: Phone) -> None:
    codes = tv.codes()
    signed_in(app, phone)
    state = phone.interaction(phone.enter(codes["user_code"]).get_json()["redirect_to"])
    phone.act(state, "consent", {"approve": True, "claims": state["requested"]["claims"]})
    state = phone.interaction(state_location(phone, state))
    answer = phone.act(state, "deny")
    assert "/device/done?error=access_denied" in answer.get_json()["redirect_to"]
    for _ in range(2):
        tv.wait(codes["device_code"])
        denied = tv.poll(codes["device_code"])
        assert (denied.status_code, denied.get_json()["error"]) == (400, "access_denied")
    audit = services_of(app).audit
    [declined] = audit.entries(action="consent.declined")
    assert (declined.outcome, declined.details) == ("refused", {"device": True})
    assert [e.details["error"] for e in audit.entries(action="token.refused")] == [
        "access_denied", "access_denied"]  # each refused poll, once
    tv.expire(codes["device_code"])
    assert tv.poll(codes["device_code"]).get_json()["error"] == "expired_token"
    assert phone.enter(codes["user_code"]).get_json()["error"] == "invalid_user_code"


def state_location(phone: Phone, state: dict[str, Any]) -> str:
    return f"/interaction/{state['uid']}"


def test_declining_consent_denies_the_device(app: Flask, tv: Tv, phone: Phone) -> None:
    codes = tv.codes()
    signed_in(app, phone)
    state = phone.interaction(phone.enter(codes["user_code"]).get_json()["redirect_to"])
    assert state["prompt"] == "consent"
    answer = phone.act(state, "consent", {"approve": False, "claims": []})
    assert "error=access_denied" in answer.get_json()["redirect_to"]
    tv.wait(codes["device_code"])
    assert tv.poll(codes["device_code"]).get_json()["error"] == "access_denied"


def test_an_expired_device_code_gets_expired_token_and_its_user_code_is_refused(
        tv: Tv, phone: Phone) -> None:
    codes = tv.codes()
    tv.expire(codes["device_code"])
    assert tv.poll(codes["device_code"]).get_json()["error"] == "expired_token"
    refused = phone.enter(codes["user_code"])
    assert (refused.status_code, refused.get_json()["error"]) == (400, "invalid_user_code")


def test_a_device_code_of_another_client_is_refused_and_stays_usable_by_its_own(
        app: Flask, tv: Tv, phone: Phone) -> None:
    codes = tv.codes()
    other = Tv.of(app, register_tv(app, name="Kitchen TV"))
    stolen = other.poll(codes["device_code"])
    assert (stolen.status_code, stolen.get_json()["error"]) == (400, "invalid_grant")
    signed_in(app, phone)
    approve(phone, codes["user_code"])
    assert other.poll(codes["device_code"]).get_json()["error"] == "invalid_grant"
    assert tv.poll(codes["device_code"]).status_code == 200


def test_an_unknown_device_code_or_none_is_refused(tv: Tv) -> None:
    assert tv.poll("not-a-device-code").get_json()["error"] == "invalid_grant"
    missing = tv.http.post("/token", data={"grant_type": GRANT, "client_id": tv.client_id})
    assert missing.get_json()["error"] == "invalid_request"


def test_a_private_id_suspended_after_the_approval_gets_no_tokens(
        app: Flask, tv: Tv, phone: Phone) -> None:
    """The account's state is checked again at redemption, not only at approval."""
    codes = tv.codes()
    private_id = signed_in(app, phone)
    approve(phone, codes["user_code"])
    with db.transaction(services_of(app).sessions) as session:
        session.execute(update(PrivateId).where(PrivateId.id == private_id)
                        .values(state="suspended"))
    refused = tv.poll(codes["device_code"])
    assert (refused.status_code, refused.get_json()["error"]) == (400, "access_denied")


def test_the_page_prefills_the_code_of_verification_uri_complete(tv: Tv, phone: Phone) -> None:
    codes = tv.codes()
    face = phone.page(user_code=codes["user_code"].replace("-", "").lower())
    assert face["prompt"] == "user_code"
    assert face["user_code"] == codes["user_code"]
    assert set(face["actions"]) == {"user_code"}
    html = phone.http.get("/device", query_string={"user_code": codes["user_code"]})
    assert codes["user_code"] in html.get_data(as_text=True)


def test_the_user_code_needs_the_pages_csrf_token(tv: Tv, phone: Phone) -> None:
    codes = tv.codes()
    face = phone.page()
    refused = phone.http.post("/device", json={"user_code": codes["user_code"]})
    assert (refused.status_code, refused.get_json()["error"]) == (403, "csrf_failed")
    bad = phone.http.post("/device", json={"user_code": 12},
                          headers={"X-CSRF-Token": face["csrf_token"]})
    assert bad.status_code == 400


def test_a_code_typed_anyhow_finds_its_request_and_the_login_is_the_usual_one(
        tv: Tv, phone: Phone) -> None:
    codes = tv.codes()
    typed = " " + codes["user_code"].lower().replace("-", " ") + " "
    entered = phone.enter(typed)
    state = phone.interaction(entered.get_json()["redirect_to"])
    assert state["prompt"] == "login"
    assert state["client"]["name"] == "Living-room TV"
    assert {"passkey_options", "card", "abort"} <= set(state["actions"])


def test_guessing_user_codes_is_throttled_per_address(tv: Tv, phone: Phone) -> None:
    codes = tv.codes()
    for _ in range(10):
        assert phone.enter("BCDF-GHJK").get_json()["error"] == "invalid_user_code"
    locked = phone.enter(codes["user_code"])
    assert locked.status_code == 429
    assert locked.get_json()["error"] == "too_many_attempts"
    assert int(locked.headers["Retry-After"]) > 0


def test_guessing_is_throttled_per_browser_too_whatever_its_address(
        tv: Tv, phone: Phone) -> None:
    """A guesser hopping addresses (a mobile network, a proxy pool) is still counted by its
    browser's binding cookie."""
    face = phone.page()
    for number in range(10):
        wrong = phone.http.post(
            "/device", json={"user_code": "BCDF-GHJK"},
            headers={"X-CSRF-Token": face["csrf_token"]},
            environ_base={"REMOTE_ADDR": f"198.51.100.{number}"})
        assert wrong.get_json()["error"] == "invalid_user_code"
    locked = phone.http.post("/device", json={"user_code": tv.codes()["user_code"]},
                             headers={"X-CSRF-Token": face["csrf_token"]},
                             environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert locked.status_code == 429


def test_a_flood_of_device_authorizations_from_one_address_is_refused(tv: Tv) -> None:
    for _ in range(30):
        assert tv.authorize().status_code == 200
    flooded = tv.http.post("/device_authorization", data={"client_id": tv.client_id},
                           headers={"Accept-Language": "en"})
    assert flooded.status_code == 429
    assert flooded.get_json()["error"] == "too_many_requests"
    assert "device sign-in requests" in flooded.get_json()["error_description"]
    assert flooded.headers["Retry-After"]


def test_the_done_page_says_what_happened(phone: Phone) -> None:
    approved = phone.http.get("/device/done?status=approved", headers={"Accept":
                                                                       "application/json"})
    assert approved.get_json()["status"] == "approved"
    other = phone.http.get("/device/done?error=<script>", headers={"Accept": "application/json"})
    assert other.get_json()["status"] == "denied"
    assert "<script>" not in phone.http.get("/device/done?error=<script>").get_data(as_text=True)


def test_a_code_flow_client_may_not_use_the_device_code_grant(app: Flask, tv: Tv) -> None:
    codes = tv.codes()
    web_client, secret = register(app)
    refused = tv.http.post("/token", data={"grant_type": GRANT, "device_code": codes[
        "device_code"]}, auth=(web_client, secret))
    assert (refused.status_code, refused.get_json()["error"]) == (400, "unauthorized_client")


def test_approving_after_the_codes_expired_issues_nothing(
        app: Flask, tv: Tv, phone: Phone) -> None:
    codes = tv.codes()
    signed_in(app, phone)
    state = phone.interaction(phone.enter(codes["user_code"]).get_json()["redirect_to"])
    phone.act(state, "consent", {"approve": True, "claims": state["requested"]["claims"]})
    state = phone.interaction(state_location(phone, state))
    tv.expire(codes["device_code"])
    late = phone.act(state, "approve")
    assert (late.status_code, late.get_json()["error"]) == (400, "invalid_user_code")
    assert tv.poll(codes["device_code"]).get_json()["error"] == "expired_token"


def test_a_code_approved_in_one_browser_cannot_be_answered_in_another(
        app: Flask, tv: Tv, phone: Phone) -> None:
    codes = tv.codes()
    other = Phone(app.test_client())
    signed_in(app, other)
    first = other.interaction(other.enter(codes["user_code"]).get_json()["redirect_to"])
    signed_in(app, phone)
    assert approve(phone, codes["user_code"])["status"] == "approved"
    other.act(first, "consent", {"approve": True, "claims": first["requested"]["claims"]})
    first = other.interaction(state_location(other, first))
    assert other.act(first, "approve").get_json()["error"] == "invalid_user_code"
    assert tv.poll(codes["device_code"]).status_code == 200


def test_logging_out_on_the_phone_does_not_sign_the_tv_out(
        app: Flask, tv: Tv, phone: Phone) -> None:
    codes = tv.codes()
    signed_in(app, phone)
    approve(phone, codes["user_code"])
    tokens = tv.poll(codes["device_code"]).get_json()
    assert "sid" not in claims_of(tokens["id_token"])  # no browser session of the TV's own
    asked = phone.http.get("/logout").get_data(as_text=True)  # the IdP asks first
    token = re.search(r'name="csrf_token" value="([^"]+)"', asked)
    assert token is not None
    ended = phone.http.post("/logout/confirm", data={"csrf_token": token.group(1)})
    assert ended.status_code == 200
    assert phone.http.get("/account", headers={"Accept": "application/json"}).status_code == 401
    userinfo = tv.http.get("/userinfo", headers={"Authorization": "Bearer "
                                                 + tokens["access_token"]})
    assert userinfo.status_code == 200


def test_concurrent_polls_of_an_approved_code_issue_tokens_once(
        app: Flask, tv: Tv, phone: Phone) -> None:
    """Of polls racing each other exactly one gets the tokens; the others find the code used
    (and, as for a replayed authorization code, take the tokens back)."""
    codes = tv.codes()
    signed_in(app, phone)
    approve(phone, codes["user_code"])
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: Tv.of(app, tv.client_id).poll(codes["device_code"]),
                                range(4)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200, 400, 400, 400]
    assert {answer.get_json()["error"] for answer in answers if answer.status_code == 400} == {
        "invalid_grant"}


def test_no_table_holds_a_user_code_in_clear(app: Flask, tv: Tv, phone: Phone) -> None:
    """Device authorizations keep an HMAC of the user code; the interaction keeps only the
    authorization's id; the approval shows the code from the browser's own session cookie."""
    codes = tv.codes()
    signed_in(app, phone)
    location = phone.enter(codes["user_code"]).get_json()["redirect_to"]
    plain = codes["user_code"].replace("-", "")
    with services_of(app).sessions() as session:
        rows = [json.dumps(row.params) for row in session.scalars(select(Interaction))]
        rows += [json.dumps([d.user_code_hash, d.device_code_hash, d.scope])
                 for d in session.scalars(select(DeviceAuthorization))]
    assert rows
    assert not [row for row in rows if plain in row or codes["user_code"] in row]
    state = phone.interaction(location)
    phone.act(state, "consent", {"approve": True, "claims": state["requested"]["claims"]})
    assert phone.interaction(location)["device"] == {"user_code": codes["user_code"]}
    elsewhere = Phone(app.test_client())  # the same person in a browser that typed nothing
    elsewhere.http.set_cookie(COOKIE_NAME, phone.http.get_cookie(COOKIE_NAME).value,
                              domain="localhost")
    assert elsewhere.http.get(location, headers={"Accept": "application/json"}
                              ).status_code == 403  # and the interaction is not its anyway
