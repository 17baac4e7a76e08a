"""Relying parties from the console: registered with exact (and, in production, https) URIs,
edited, their secret rotated (the old one stops at once), disabled (no login, no token) and
limited to the scopes and levels an administrator allows."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from idp.app import create_app, services_of
from idp.settings import Settings
from tests.support.admin import Admin, admin_settings, signed_in
from tests.unit.oidc.conftest import REDIRECT, Rp

BANK = {"name": "Bank", "redirect_uris": [REDIRECT]}


def _register(admin: Admin, **fields: Any) -> dict[str, Any]:
    answer = admin.call("POST", "/admin/api/clients", {**BANK, **fields})
    assert answer.status_code == 201, answer.get_json()
    created: dict[str, Any] = answer.get_json()
    return created


def _rp(app: Flask, created: dict[str, Any]) -> Rp:
    return Rp(app, app.test_client(), created["client"]["client_id"], created["client_secret"])


def test_a_registered_client_logs_people_in(app: Flask, admin: Admin) -> None:
    created = _register(admin, post_logout_redirect_uris=["https://rp.example/bye"])
    assert created["client"]["sector_identifier"] == "rp.example"
    rp = _rp(app, created)
    rp.login()
    code, verifier = rp.code()
    assert rp.exchange(code, verifier).status_code == 200


@pytest.mark.parametrize(("uri", "why"), [
    ("https://rp.example/*", "no wildcard"), ("https://rp.example/cb#x", "no fragment"),
    ("rp.example/cb", "absolute"), ("javascript:alert(1)", "absolute")])
def test_inexact_redirect_uris_are_refused(admin: Admin, uri: str, why: str) -> None:
    answer = admin.call("POST", "/admin/api/clients", {**BANK, "redirect_uris": [uri]})
    assert answer.status_code == 400
    assert why in answer.get_json()["error_description"]
    assert admin.call("GET", "/admin/api/clients").get_json() == {"clients": []}


@pytest.fixture
def production(sqlite_settings: Settings) -> Iterator[Flask]:
    application = create_app(admin_settings(sqlite_settings, production=True))
    yield application
    services_of(application).engine.dispose()


def test_production_mode_wants_https(production: Flask) -> None:
    admin = signed_in(production, "alice", "admin")
    answer = admin.call("POST", "/admin/api/clients",
                        {**BANK, "redirect_uris": ["http://rp.example/cb"]})
    assert answer.status_code == 400
    assert "https in production mode" in answer.get_json()["error_description"]
    back = admin.call("POST", "/admin/api/clients", {**BANK,
                                                     "backchannel_logout_uri": "http://x/b"})
    assert back.status_code == 400
    assert admin.call("POST", "/admin/api/clients", BANK).status_code == 201


def test_editing_keeps_the_sector(app: Flask, admin: Admin) -> None:
    client_id = _register(admin)["client"]["client_id"]
    renamed = admin.call("PATCH", f"/admin/api/clients/{client_id}",
                         {"name": "Bank (new)", "allowed_scopes": ["profile"],
                          "redirect_uris": [REDIRECT, "https://rp.example/cb2"]})
    assert renamed.status_code == 200
    assert renamed.get_json()["name"] == "Bank (new)"
    moved = admin.call("PATCH", f"/admin/api/clients/{client_id}",
                       {"redirect_uris": ["https://elsewhere.example/cb"]})
    assert moved.status_code == 400
    assert "sector" in moved.get_json()["error_description"]
    assert admin.call("GET", f"/admin/api/clients/{client_id}").get_json()["redirect_uris"] \
        == [REDIRECT, "https://rp.example/cb2"]


def test_unknown_levels_and_unknown_fields_are_refused(admin: Admin) -> None:
    assert admin.call("POST", "/admin/api/clients", {**BANK, "allowed_acrs": ["gold"]}) \
        .status_code == 400
    assert admin.call("POST", "/admin/api/clients", {**BANK, "colour": "red"}).status_code \
        == 400
    assert admin.call("PATCH", "/admin/api/clients/rp_nobody", {"name": "x"}).status_code \
        == 404


def test_a_rotated_secret_replaces_the_old_one(app: Flask, admin: Admin) -> None:
    created = _register(admin)
    rp = _rp(app, created)
    client_id = created["client"]["client_id"]
    rotated = admin.call("POST", f"/admin/api/clients/{client_id}/rotate-secret").get_json()
    assert rotated["client_secret"] != created["client_secret"]
    rp.login()
    code, verifier = rp.code()
    assert rp.exchange(code, verifier).status_code == 401  # the old secret
    rp.secret = rotated["client_secret"]
    code, verifier = rp.code()
    assert rp.exchange(code, verifier).status_code == 200


def test_a_public_client_has_no_secret_to_rotate(admin: Admin) -> None:
    client_id = _register(admin, auth_method="none")["client"]["client_id"]
    answer = admin.call("POST", f"/admin/api/clients/{client_id}/rotate-secret")
    assert answer.status_code == 400
    assert "no secret" in answer.get_json()["error_description"]


def test_a_disabled_client_neither_logs_in_nor_gets_tokens(app: Flask, admin: Admin) -> None:
    created = _register(admin)
    rp = _rp(app, created)
    client_id = created["client"]["client_id"]
    rp.login()
    code, verifier = rp.code()
    disabled = admin.call("POST", f"/admin/api/clients/{client_id}/disable",
                          {"reason": "contract ended"})
    assert disabled.get_json()["disabled"] is True
    assert rp.exchange(code, verifier).status_code == 401
    assert rp.browser.get("/authorize", query_string={
        "client_id": client_id, "redirect_uri": REDIRECT}).status_code == 400
    admin.call("POST", f"/admin/api/clients/{client_id}/enable", {"reason": "renewed"})
    code, verifier = rp.code()
    assert rp.exchange(code, verifier).status_code == 200


def test_a_disable_needs_a_reason(admin: Admin) -> None:
    client_id = _register(admin)["client"]["client_id"]
    assert admin.call("POST", f"/admin/api/clients/{client_id}/disable", {}).status_code == 400


def test_allowed_scopes_and_levels_limit_what_a_client_may_ask(app: Flask,
                                                               admin: Admin) -> None:
    created = _register(admin, allowed_scopes=["profile"])
    rp = _rp(app, created)
    rp.login()
    location, _ = rp.authorize(scope="openid address")
    assert "error=invalid_scope" in location
    location, _ = rp.authorize(scope="openid profile")
    assert "error=" not in location


def test_allowed_claims_limit_the_claims_parameter(app: Flask, admin: Admin) -> None:
    import json

    created = _register(admin, allowed_claims=["name"])
    rp = _rp(app, created)
    rp.login()
    asked = json.dumps({"userinfo": {"birthdate": None}})
    location, _ = rp.authorize(claims=asked)
    assert "error=invalid_request" in location
    assert "birthdate" in location
    location, _ = rp.authorize(claims=json.dumps({"userinfo": {"name": None}}))
    assert "error=" not in location


def test_allowed_levels_limit_the_acr_a_client_may_ask_for(app: Flask, admin: Admin) -> None:
    import json

    ial1 = "urn:jpki-idp:acr:ial1-aal2"
    created = _register(admin, allowed_acrs=[ial1])
    rp = _rp(app, created)
    rp.login()
    essential = {"id_token": {"acr": {"essential": True,
                                      "values": ["urn:jpki-idp:acr:ial2-aal2-now"]}}}
    location, _ = rp.authorize(claims=json.dumps(essential))
    assert "error=unmet_authentication_requirements" in location
    code, verifier = rp.code(acr_values=f"urn:jpki-idp:acr:ial2-aal2 {ial1}")
    tokens = rp.exchange(code, verifier).get_json()
    payload = tokens["id_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["acr"] == ial1  # the level it may ask for, not the higher one it named first
