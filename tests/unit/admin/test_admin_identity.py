"""Administrators prove who they are with a passkey: a one-time enrolment URL, sign-in,
confirmation for high-risk actions, and bearer tokens for scripts. Every misuse is refused
with a clear message."""

from __future__ import annotations

import json
import time

import pytest
from flask import Flask

from idp.admin.identity import CLI
from idp.app import services_of
from tests.support.admin import ORIGIN, Admin, add_admin, enrol, signed_in
from tests.support.webauthn_authenticator import SoftAuthenticator


def _enrol_with(app: Flask, secret: str) -> tuple[int, dict[str, object]]:
    browser = app.test_client()
    started = browser.post(f"/admin/api/enrol/{secret}/options")
    if started.status_code != 200:
        return started.status_code, started.get_json()
    options = started.get_json()
    made = SoftAuthenticator().create(json.dumps(options["options"]), origin=ORIGIN)
    answer = browser.post(f"/admin/api/enrol/{secret}", json={
        "handle": options["handle"], "credential": json.loads(made)})
    return answer.status_code, answer.get_json()


def test_an_administrator_enrols_a_passkey_and_signs_in_with_it(app: Flask) -> None:
    admin = enrol(app, "alice", "admin")
    answer = admin.sign_in()
    assert answer.status_code == 200
    me = admin.call("GET", "/admin/api/session").get_json()
    assert (me["name"], me["role"], me["via"]) == ("alice", "admin", "session")
    assert "change_clients" in me["permissions"]
    cookie = admin.browser.get_cookie("idp_admin", path="/admin")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Strict"


def test_an_enrolment_url_works_once(app: Flask) -> None:
    _admin_id, secret = add_admin(app, "bob", "support")
    assert _enrol_with(app, secret)[0] == 200
    status, body = _enrol_with(app, secret)
    assert (status, body["error"]) == (400, "enrolment_used")
    assert "すでに使われています" in body["error_description"]  # Japanese by default


def test_an_expired_enrolment_url_is_refused(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    _admin_id, secret = add_admin(app, "carol", "auditor")
    later = time.time() + 16 * 60
    monkeypatch.setattr(services_of(app).admin.identity, "_clock", lambda: later)
    status, body = _enrol_with(app, secret)
    assert (status, body["error"]) == (400, "enrolment_expired")
    page = app.test_client().get(f"/admin/enrol/{secret}?lang=en")
    assert page.status_code == 400
    assert b"enrolment_expired" in page.data


def test_an_unknown_enrolment_url_is_refused(app: Flask) -> None:
    status, body = _enrol_with(app, "not-a-real-secret")
    assert (status, body["error"]) == (400, "enrolment_invalid")


def test_a_replayed_assertion_is_refused(app: Flask) -> None:
    admin = enrol(app, "dave", "admin")
    started = admin.browser.post("/admin/api/session/options").get_json()
    answer = json.loads(admin.authenticator.get(json.dumps(started["options"]), origin=ORIGIN))
    body = {"handle": started["handle"], "credential": answer}
    assert admin.browser.post("/admin/api/session", json=body).status_code == 200
    replay = app.test_client().post("/admin/api/session", json=body)
    assert replay.status_code == 401
    assert replay.get_json()["error"] == "admin_passkey_refused"
    assert "replay" in replay.get_json()["error_description"]


def test_a_passkey_of_another_origin_is_refused(app: Flask) -> None:
    admin = enrol(app, "erin", "admin")
    started = admin.browser.post("/admin/api/session/options").get_json()
    answer = admin.authenticator.get(json.dumps(started["options"]),
                                     origin="https://evil.example")
    refused = admin.browser.post("/admin/api/session", json={
        "handle": started["handle"], "credential": json.loads(answer)})
    assert refused.status_code == 401
    assert admin.browser.get_cookie("idp_admin", path="/admin") is None


def test_a_session_ends_after_its_lifetime(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    admin = signed_in(app, "fay", "admin")
    identity = services_of(app).admin.identity
    later = time.time() + identity.session_lifetime + 1
    monkeypatch.setattr(identity, "_clock", lambda: later)
    assert admin.call("GET", "/admin/api/session").status_code == 401
    assert admin.browser.get("/admin/").headers["Location"].endswith("/admin/login")


def test_signing_out_ends_the_session(admin: Admin) -> None:
    assert admin.call("POST", "/admin/api/session/logout").status_code == 200
    assert admin.call("GET", "/admin/api/session").status_code == 401


def test_a_change_from_a_session_needs_the_csrf_token(admin: Admin) -> None:
    refused = admin.browser.post("/admin/api/admins", json={"name": "x", "role": "support"})
    assert (refused.status_code, refused.get_json()["error"]) == (403, "csrf_failed")


def test_a_high_risk_action_asks_for_the_passkey_again(
        app: Flask, admin: Admin, monkeypatch: pytest.MonkeyPatch) -> None:
    made = admin.call("POST", "/admin/api/clients", {
        "name": "Bank", "redirect_uris": ["https://bank.example/cb"]}).get_json()
    client_id = made["client"]["client_id"]
    identity = services_of(app).admin.identity
    later = time.time() + identity.window + 1
    monkeypatch.setattr(identity, "_clock", lambda: later)
    refused = admin.call("POST", f"/admin/api/clients/{client_id}/rotate-secret")
    assert (refused.status_code, refused.get_json()["error"]) == (403, "confirmation_required")
    assert admin.confirm().status_code == 200
    assert admin.call("POST", f"/admin/api/clients/{client_id}/rotate-secret").status_code == 200


def test_confirming_with_another_administrators_passkey_is_refused(app: Flask) -> None:
    alice, bob = signed_in(app, "alice", "admin"), enrol(app, "bob", "admin")
    started = alice.browser.post("/admin/api/session/confirm/options",
                                 headers={"X-CSRF-Token": alice.csrf}).get_json()
    answer = bob.authenticator.get(json.dumps(started["options"]), origin=ORIGIN,
                                   credential_id=next(iter(bob.authenticator.credentials)))
    refused = alice.call("POST", "/admin/api/session/confirm", {
        "handle": started["handle"], "credential": json.loads(answer)})
    assert refused.status_code == 401


def test_no_credentials_is_401(app: Flask) -> None:
    answer = app.test_client().get("/admin/api/clients")
    assert (answer.status_code, answer.get_json()["error"]) == (401, "admin_login_required")


def test_an_api_token_carries_the_role(app: Flask) -> None:
    add_admin(app, "script", "auditor")
    token, expires_at = services_of(app).admin.identity.issue_token("script", 120)
    assert expires_at - time.time() == pytest.approx(120, abs=5)
    client = app.test_client()
    me = client.get("/admin/api/session", headers={"Authorization": f"Bearer {token}"})
    assert me.get_json()["role"] == "auditor"
    assert me.get_json()["via"] == "token"
    refused = client.post("/admin/api/admins", json={"name": "x", "role": "admin"},
                          headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403


def test_an_expired_token_is_refused(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    add_admin(app, "script", "admin")
    identity = services_of(app).admin.identity
    token, _ = identity.issue_token("script", 60)
    later = time.time() + 61
    monkeypatch.setattr(identity, "_clock", lambda: later)
    answer = app.test_client().get("/admin/api/clients",
                                   headers={"Authorization": f"Bearer {token}"})
    assert (answer.status_code, answer.get_json()["error"]) == (401, "admin_token_expired")


def test_an_unknown_token_is_refused(app: Flask) -> None:
    answer = app.test_client().get("/admin/api/clients",
                                   headers={"Authorization": "Bearer adm.forged"})
    assert answer.status_code == 401


def test_a_token_longer_than_allowed_is_refused(app: Flask) -> None:
    add_admin(app, "script", "admin")
    identity = services_of(app).admin.identity
    with pytest.raises(Exception, match="between 1 and 3600"):
        identity.issue_token("script", 3601)


def test_only_the_stored_digest_of_a_token_is_kept(app: Flask) -> None:
    from sqlalchemy import select

    from idp.admin.models import AdminToken

    add_admin(app, "script", "admin")
    token, _ = services_of(app).admin.identity.issue_token("script", 60)
    with services_of(app).sessions() as db:
        stored = db.scalars(select(AdminToken.token_hash)).all()
    assert token not in stored
    assert len(stored) == 1


def test_administrator_names_are_unique(app: Flask) -> None:
    add_admin(app, "alice", "admin")
    with pytest.raises(Exception, match="exists already"):
        services_of(app).admin.identity.add(CLI, "alice", "support")


def test_enrolment_sign_in_and_replay_on_both_databases(db_app: Flask) -> None:
    """The one-time enrolment, the challenge taken by one DELETE ... RETURNING and the
    session, on SQLite and PostgreSQL."""
    admin = enrol(db_app, "pat", "admin")
    started = admin.browser.post("/admin/api/session/options").get_json()
    answer = json.loads(admin.authenticator.get(json.dumps(started["options"]), origin=ORIGIN))
    body = {"handle": started["handle"], "credential": answer}
    assert admin.browser.post("/admin/api/session", json=body).status_code == 200
    assert db_app.test_client().post("/admin/api/session", json=body).status_code == 401
    assert admin.browser.get("/admin/api/session").get_json()["name"] == "pat"
