"""Roles are a table of permissions with one check: an auditor reads everything and is refused
every change (403, nothing changed, the refusal recorded); support finds accounts, sees their 4
info only after giving a reason, and is refused the relying parties."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from flask import Flask

from idp import db
from idp.accounts.jpki_models import Basic4Record
from idp.admin.roles import HIGH_RISK, PERMISSIONS, Permission, Role
from idp.app import services_of
from idp.web.admin_api import ROUTES
from tests.support.admin import Admin, signed_in
from tests.support.login import login_session

BASIC4 = {"name": "山田\u3000太郎", "birth_date": "1980-04-01", "sex": "1",
          "address": "東京都千代田区永田町1-7-1"}


def _person(app: Flask) -> str:
    private_id, _cookie = login_session(app)
    with db.transaction(services_of(app).sessions) as session:
        session.add(Basic4Record(private_id=private_id, basic4=BASIC4, source="certificate",
                                 anchor_serial="0a", current=True))
    return private_id


def _changes(client_id: str, private_id: str) -> list[tuple[str, str, Any]]:
    return [
        ("POST", "/admin/api/admins", {"name": "mallory", "role": "admin"}),
        ("POST", "/admin/api/clients", {"name": "Shop",
                                        "redirect_uris": ["https://shop.example/cb"]}),
        ("PATCH", f"/admin/api/clients/{client_id}", {"name": "Renamed"}),
        ("POST", f"/admin/api/clients/{client_id}/rotate-secret", None),
        ("POST", f"/admin/api/clients/{client_id}/disable", {"reason": "audit"}),
        ("POST", f"/admin/api/clients/{client_id}/enable", {"reason": "audit"}),
        ("POST", f"/admin/api/accounts/{private_id}/lock", {"reason": "audit"}),
        ("POST", f"/admin/api/accounts/{private_id}/unlock", {"reason": "audit"}),
        ("PUT", "/admin/api/trust/policy", {"policy": {}, "reason": "audit"}),
        ("POST", "/admin/api/trust/policy/set", {"key": "revocation.sign.method",
                                                 "value": "ocsp", "reason": "audit"}),
        ("POST", "/admin/api/trust/policy/rollback", {"version": 1, "reason": "audit"}),
        ("POST", "/admin/api/trust/anchors/retire", {"purpose": "sign", "reason": "audit"}),
        ("POST", "/admin/api/trust/anchors/enable", {"purpose": "sign", "reason": "audit"}),
        ("POST", "/admin/api/trust/anchors", {"pem": "x", "purpose": "sign",
                                              "reason": "audit"}),
    ]


def _state(admin: Admin, client_id: str, private_id: str) -> Any:
    return (admin.call("GET", "/admin/api/admins").get_json(),
            admin.call("GET", "/admin/api/clients").get_json(),
            admin.call("GET", "/admin/api/trust/policy/versions").get_json(),
            admin.call("GET", f"/admin/api/accounts/{private_id}").get_json()["lock"])


def test_every_change_route_is_in_the_matrix() -> None:
    """A new change route must be added to ``_changes`` (and so to the auditor's refusals)."""
    changes = {(method, path.split("{")[0].rstrip("/")) for method, path, _ in
               _changes("{client_id}", "{private_id}")}
    found = {(r.method, "/admin/api" + r.path.split("{")[0].rstrip("/")) for r in ROUTES
             if r.method != "GET" and not r.public and r.tag != "session"
             and not r.path.endswith("/reveal")}
    assert found <= changes


def test_an_auditor_is_refused_every_change_and_nothing_changes(
        app: Flask, admin: Admin, auditor: Admin, caplog: pytest.LogCaptureFixture) -> None:
    made = admin.call("POST", "/admin/api/clients", {
        "name": "Bank", "redirect_uris": ["https://bank.example/cb"]}).get_json()
    client_id, private_id = made["client"]["client_id"], _person(app)
    before = _state(admin, client_id, private_id)
    caplog.set_level(logging.INFO, logger="idp.admin.actions")
    for method, path, body in _changes(client_id, private_id):
        answer = auditor.call(method, path, body)
        assert (answer.status_code, answer.get_json()["error"]) == (403, "forbidden"), path
    assert _state(admin, client_id, private_id) == before
    refused = [json.loads(r.getMessage().split(" ", 2)[2]) for r in caplog.records
               if "admin action" in r.getMessage()]
    assert sum(1 for e in refused if e["outcome"] == "refused" and e["actor"] == "olivia") == \
        len(_changes(client_id, private_id))


def test_an_auditor_reads_everything(app: Flask, admin: Admin, auditor: Admin) -> None:
    made = admin.call("POST", "/admin/api/clients", {
        "name": "Bank", "redirect_uris": ["https://bank.example/cb"]}).get_json()
    private_id = _person(app)
    for path in ("/admin/api/health", "/admin/api/clients", "/admin/api/admins",
                 "/admin/api/trust/policy", "/admin/api/trust/policy/versions",
                 "/admin/api/trust/policy/versions/1",
                 f"/admin/api/clients/{made['client']['client_id']}",
                 f"/admin/api/accounts?private_id={private_id}",
                 f"/admin/api/accounts/{private_id}"):
        assert auditor.call("GET", path).status_code == 200, path


def test_support_sees_the_4_info_only_after_giving_a_reason(app: Flask, support: Admin) -> None:
    private_id = _person(app)
    found = support.call("GET", f"/admin/api/accounts?private_id={private_id}").get_json()
    assert [a["private_id"] for a in found["accounts"]] == [private_id]
    detail = support.call("GET", f"/admin/api/accounts/{private_id}").get_json()
    assert detail["four_info"] is None
    assert detail["four_info_hidden"] is True
    assert "山田" not in json.dumps(detail, ensure_ascii=False)
    no_reason = support.call("POST", f"/admin/api/accounts/{private_id}/reveal", {"reason": ""})
    assert no_reason.status_code == 400
    blank = support.call("POST", f"/admin/api/accounts/{private_id}/reveal", {"reason": "  "})
    assert blank.get_json()["error"] == "reason_required"
    shown = support.call("POST", f"/admin/api/accounts/{private_id}/reveal",
                         {"reason": "caller verified by phone, ticket 42"})
    assert shown.status_code == 200
    assert shown.get_json()["four_info"]["current"]["name"] == BASIC4["name"]


def test_support_is_refused_the_relying_parties(app: Flask, admin: Admin,
                                                support: Admin) -> None:
    made = admin.call("POST", "/admin/api/clients", {
        "name": "Bank", "redirect_uris": ["https://bank.example/cb"]}).get_json()
    for method, path, body in _changes(made["client"]["client_id"], "pid_x")[:6]:
        assert support.call(method, path, body).status_code == 403, path
    assert support.call("GET", "/admin/api/clients").status_code == 403


def test_finding_by_name_needs_a_reason_and_the_right(app: Flask, support: Admin) -> None:
    private_id = _person(app)
    refused = support.call("GET", "/admin/api/accounts?name=山田")
    assert refused.get_json()["error"] == "reason_required"
    found = support.call("GET", "/admin/api/accounts?name=山田 太郎&reason=ticket 7").get_json()
    assert [a["private_id"] for a in found["accounts"]] == [private_id]


def test_the_permission_table() -> None:
    assert PERMISSIONS[Role.ADMIN] == frozenset(Permission)
    changes = {Permission.CHANGE_CLIENTS, Permission.DISABLE_CLIENTS, Permission.ROTATE_SECRETS,
               Permission.LOCK_ACCOUNTS, Permission.CHANGE_ADMINS, Permission.CHANGE_TRUST}
    assert not PERMISSIONS[Role.AUDITOR] & changes
    assert Permission.REVEAL_4INFO in HIGH_RISK


@pytest.mark.parametrize("role", ["auditor", "support"])
def test_a_token_of_a_role_without_the_right_is_403(app: Flask, role: str) -> None:
    signed_in(app, "someone", role)
    token = services_of(app).admin.identity.issue_token("someone", 60)[0]
    answer = app.test_client().post("/admin/api/clients", headers={
        "Authorization": f"Bearer {token}"}, json={"name": "x",
                                                  "redirect_uris": ["https://x.example/cb"]})
    assert answer.status_code == 403
