"""Every admin action, allowed or refused, is one audit log entry (``admin.<verb>``, actor
``admin:<name>``, the reason, never a secret), in one chain that still verifies; trust policy
versions are ``trust.policy.changed`` entries; /admin/api/audit and /admin/api/metering answer
admin and auditor, not support, with filters, and refuse bad input with 400."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import update

from idp import db
from idp.admin.identity import digest
from idp.admin.models import AdminEnrolment
from idp.app import create_app, services_of
from idp.audit.entries import Entry
from idp.audit.verify import verify_chain
from idp.settings import Settings
from tests.support.admin import Admin, add_admin, admin_settings, signed_in
from tests.support.login import login_session

_JST = ZoneInfo("Asia/Tokyo")
BANK = {"name": "Bank", "redirect_uris": ["https://bank.example/cb"]}


def _entries(app: Flask, action: str | None = None) -> list[Entry]:
    return services_of(app).audit.entries(action=action, limit=None)


def _everything(app: Flask) -> str:
    return json.dumps([e.to_json() for e in _entries(app)], ensure_ascii=False)


def test_an_allowed_action_is_one_entry_with_its_actor_and_no_secret(app: Flask,
                                                                      admin: Admin) -> None:
    made = admin.call("POST", "/admin/api/clients", BANK).get_json()
    client_id = made["client"]["client_id"]
    rotated = admin.call("POST", f"/admin/api/clients/{client_id}/rotate-secret")
    assert rotated.status_code == 200, rotated.get_json()

    [register] = _entries(app, "admin.client.register")
    assert (register.actor, register.target, register.outcome) == ("admin:alice", client_id,
                                                                    "ok")
    assert register.details["name"] == "Bank"
    assert (register.details["role"], register.details["via"]) == ("admin", "session")
    assert register.request_id
    [rotation] = _entries(app, "admin.client.rotate_secret")
    assert (rotation.actor, rotation.target, rotation.outcome) == ("admin:alice", client_id,
                                                                   "ok")
    everything = _everything(app)
    assert made["client_secret"] not in everything
    assert rotated.get_json()["client_secret"] not in everything


def test_a_refused_action_is_one_entry_with_why(app: Flask, admin: Admin,
                                                auditor: Admin) -> None:
    assert auditor.call("POST", "/admin/api/clients", BANK).status_code == 403
    [refused] = _entries(app, "admin.client.register")
    assert (refused.actor, refused.outcome, refused.details["why"]) == (
        "admin:olivia", "refused", "forbidden")
    assert refused.details["role"] == "auditor"


def test_reasons_are_recorded_and_4_info_is_not(app: Flask, admin: Admin) -> None:
    private_id, _ = login_session(app)
    assert admin.call("POST", f"/admin/api/accounts/{private_id}/lock",
                      {"reason": "caller asked: phone stolen"}).status_code == 200
    revealed = admin.call("POST", f"/admin/api/accounts/{private_id}/reveal",
                          {"reason": "ticket 4711"})
    assert revealed.status_code == 200, revealed.get_json()
    [lock] = _entries(app, "admin.account.lock")
    assert (lock.target, lock.details["reason"]) == (private_id, "caller asked: phone stolen")
    [reveal] = _entries(app, "admin.account.reveal_4info")
    assert (reveal.target, reveal.details["reason"]) == (private_id, "ticket 4711")
    assert set(reveal.details) == {"reason", "role", "via"}  # whose and why, never what
    # A reason left out: refused, and recorded once.
    assert admin.call("POST", f"/admin/api/accounts/{private_id}/unlock",
                      {"reason": " "}).status_code in (400, 403)
    assert [e.details["why"] for e in _entries(app, "admin.account.unlock")] == [
        "reason_required"]


def test_the_chain_still_verifies_after_admin_actions(app: Flask, admin: Admin) -> None:
    admin.call("POST", "/admin/api/clients", BANK)
    admin.call("GET", "/admin/api/health")
    admin.call("POST", "/admin/api/trust/policy/set", {
        "key": "revocation.sign.method", "value": "ocsp", "reason": "maintenance"})
    log = services_of(app).audit
    checked = verify_chain(log.scan())
    assert checked.size == log.head()[0] > 5


def test_an_admin_token_issued_is_recorded_without_the_token(app: Flask, admin: Admin) -> None:
    token = admin.token(300)
    [issued] = _entries(app, "admin.token")
    assert (issued.target, issued.details["name"], issued.details["ttl"]) == (
        admin.admin_id, "alice", 300)
    assert token not in _everything(app)


def test_a_policy_change_by_an_admin_is_who_asked_and_what_changed(app: Flask,
                                                                   admin: Admin) -> None:
    changed = admin.call("POST", "/admin/api/trust/policy/set", {
        "key": "revocation.sign.method", "value": "ocsp", "reason": "J-LIS CRL maintenance"})
    assert changed.status_code == 200, changed.get_json()
    version = changed.get_json()["version"]
    [asked] = _entries(app, "admin.trust.policy.set")
    assert (asked.actor, asked.outcome, asked.details["reason"], asked.details["version"]) == (
        "admin:alice", "ok", "J-LIS CRL maintenance", version)
    policy = [e for e in _entries(app, "trust.policy.changed") if e.target == str(version)]
    assert len(policy) == 1
    assert policy[0].actor == "admin:alice"
    assert policy[0].details["diff"] == [{"path": "revocation.sign.method",
                                          "from": "ocsp_then_crl", "to": "ocsp"}]
    assert (policy[0].details["previous"], policy[0].details["rollback_of"]) == (version - 1,
                                                                                 None)
    rolled = admin.call("POST", "/admin/api/trust/policy/rollback", {
        "version": version - 1, "reason": "back"}).get_json()
    [rollback] = [e for e in _entries(app, "trust.policy.changed")
                  if e.target == str(rolled["version"])]
    assert rollback.details["rollback_of"] == version - 1


def test_an_invalid_policy_is_refused_and_recorded_once(app: Flask, admin: Admin) -> None:
    answer = admin.call("POST", "/admin/api/trust/policy/set", {
        "key": "revocation.sign.max_crl_staleness_seconds", "value": -1, "reason": "typo"})
    assert answer.status_code == 400
    [refused] = _entries(app, "admin.trust.policy.set")
    assert (refused.outcome, refused.details["reason"]) == ("refused", "typo")
    assert refused.details["why"]
    assert not [e for e in _entries(app, "trust.policy.changed") if e.actor == "admin:alice"]


@pytest.fixture
def production(sqlite_settings: Settings) -> Iterator[Flask]:
    application = create_app(admin_settings(sqlite_settings, production=True))
    yield application
    services_of(application).engine.dispose()


def test_a_non_https_redirect_uri_in_production_is_recorded_once(production: Flask) -> None:
    admin = signed_in(production, "alice", "admin")
    answer = admin.call("POST", "/admin/api/clients",
                        {**BANK, "redirect_uris": ["http://rp.example/cb"]})
    assert answer.status_code == 400
    [refused] = _entries(production, "admin.client.register")
    assert refused.outcome == "refused"
    assert "https" in refused.details["why"]


def test_an_expired_enrolment_url_is_recorded_once(app: Flask) -> None:
    admin_id, secret = add_admin(app, "late", "support")
    with db.transaction(services_of(app).sessions) as session:
        session.execute(update(AdminEnrolment).where(
            AdminEnrolment.token_hash == digest(secret)).values(expires_at=1))
    assert app.test_client().get(f"/admin/api/enrol/{secret}").status_code in (400, 410)
    refused = [e for e in _entries(app, "admin.enrol") if e.outcome == "refused"]
    assert [(e.actor, e.target, e.details["why"]) for e in refused] == [
        ("anonymous", admin_id, "enrolment_expired")]
    assert secret not in _everything(app)


def test_a_replayed_assertion_is_recorded_once(app: Flask, admin: Admin) -> None:
    started = admin.browser.post("/admin/api/session/options").get_json()
    answer = json.loads(admin.authenticator.get(json.dumps(started["options"]),
                                                origin="http://localhost"))
    body = {"handle": started["handle"], "credential": answer}
    assert admin.browser.post("/admin/api/session", json=body).status_code == 200
    before = len(_entries(app))
    assert admin.browser.post("/admin/api/session", json=body).status_code in (400, 401, 403)
    after = _entries(app)[before:]
    assert [(e.action, e.outcome) for e in after] == [("admin.authentication", "refused")]
    assert "replay" in after[0].details["why"]


# -- reading the log and the metering ------------------------------------------------------------
def test_the_audit_api_answers_admin_and_auditor_with_filters(app: Flask, admin: Admin,
                                                              auditor: Admin) -> None:
    admin.call("POST", "/admin/api/clients", BANK)
    answer = auditor.call("GET", "/admin/api/audit?action=admin.client.&limit=5")
    assert answer.status_code == 200, answer.get_json()
    found = answer.get_json()
    assert [e["action"] for e in found["entries"]] == ["admin.client.register"]
    assert found["head_seq"] == services_of(app).audit.head()[0] - 1  # before its own read
    seqs = [e["seq"] for e in auditor.call("GET", "/admin/api/audit?limit=3")
            .get_json()["entries"]]
    assert seqs == sorted(seqs, reverse=True)
    assert len(seqs) == 3
    since = auditor.call("GET", f"/admin/api/audit?since={seqs[0]}").get_json()["entries"]
    assert min(e["seq"] for e in since) == seqs[0]
    by_actor = admin.call("GET", "/admin/api/audit?actor=admin:olivia").get_json()["entries"]
    assert by_actor
    assert {e["actor"] for e in by_actor} == {"admin:olivia"}
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert admin.call("GET", f"/admin/api/audit?since={quote(later)}").get_json()[
        "entries"] == []
    assert admin.call("GET", "/admin/api/audit?since=yesterday").status_code == 400
    assert admin.call("GET", "/admin/api/audit?limit=0").status_code == 400
    [read] = _entries(app, "admin.audit.read")[:1]
    assert read.details["action"] == "admin.client."


def test_the_audit_api_filters_by_outcome_target_and_until(app: Flask, admin: Admin,
                                                           auditor: Admin) -> None:
    """What an administrator answering a call needs: the refusals about one person, in a
    window of time or of seq numbers; the console's form sends the same fields."""
    log = services_of(app).audit
    log.record("login", actor="person:p-1", target="person:p-1", outcome="refused",
               details={"reason": "account_locked"})
    log.record("login", actor="person:p-2", target="person:p-2", outcome="refused")
    log.record("login", actor="person:p-1", target="person:p-1", outcome="ok")
    refused = auditor.call("GET", "/admin/api/audit?outcome=refused&target=person:p-1")
    assert refused.status_code == 200, refused.get_json()
    [entry] = refused.get_json()["entries"]
    assert (entry["target"], entry["outcome"]) == ("person:p-1", "refused")
    upto = auditor.call("GET", f"/admin/api/audit?target=person:p-1&until={entry['seq']}")
    assert [e["seq"] for e in upto.get_json()["entries"]] == [entry["seq"]]
    earlier = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert auditor.call("GET", f"/admin/api/audit?until={quote(earlier)}").get_json()[
        "entries"] == []
    wrong = auditor.call("GET", "/admin/api/audit?until=tomorrow")
    assert wrong.status_code == 400
    assert "until" in wrong.get_data(as_text=True)
    page = admin.browser.get("/admin/audit?outcome=refused&target=person:p-2")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'name="until"' in text
    assert "person:p-2" in text
    assert "person:p-1</td>" not in text


def test_support_reads_neither_audit_nor_metering_and_no_token_is_401(app: Flask,
                                                                      support: Admin) -> None:
    assert support.call("GET", "/admin/api/audit").status_code == 403
    assert support.call("GET", "/admin/api/metering").status_code == 403
    anonymous = app.test_client()
    assert anonymous.get("/admin/api/audit").status_code == 401
    assert anonymous.get("/admin/api/metering?month=2026-12").status_code == 401
    assert support.browser.get("/admin/audit").status_code == 403


def test_the_metering_api_answers_a_month_and_refuses_a_bad_one(app: Flask,
                                                                auditor: Admin) -> None:
    answer = auditor.call("GET", "/admin/api/metering?month=2026-04")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"month": "2026-04", "currency": "JPY", "rows": [],
                                 "total": {"checks": 0, "charged": 0, "yen": 0}}
    assert auditor.call("GET", "/admin/api/metering").get_json()["month"] == \
        datetime.now(UTC).astimezone(_JST).strftime("%Y-%m")
    for bad in ("2026-13", "April", "2026-4"):
        refused = auditor.call("GET", f"/admin/api/metering?month={bad}")
        assert refused.status_code == 400, bad


def test_the_pages_show_the_log_filtered_and_the_month(app: Flask, admin: Admin) -> None:
    admin.call("POST", "/admin/api/clients", BANK)
    home = admin.browser.get("/admin/?lang=en").get_data(as_text=True)
    assert 'href="/admin/audit"' in home
    assert 'href="/admin/metering"' in home
    page = admin.browser.get("/admin/audit?lang=en&action=admin.client.").get_data(
        as_text=True)
    assert "admin.client.register" in page
    assert "admin.sign_in" not in page
    assert "admin:alice" in page
    ja = admin.browser.get("/admin/audit?lang=ja&action=admin.client.").get_data(as_text=True)
    assert "監査ログ" in ja
    assert "年" in ja
    bad = admin.browser.get("/admin/audit?since=nonsense&lang=en")
    assert bad.status_code == 200
    assert 'class="error"' in bad.get_data(as_text=True)
    month = admin.browser.get("/admin/metering?month=2026-04&lang=en").get_data(as_text=True)
    assert "<svg" in month
    assert 'data-month="2026-04"' in month
    wrong = admin.browser.get("/admin/metering?month=2026-13").get_data(as_text=True)
    assert 'class="error"' in wrong
    assert "<svg" in wrong


def test_on_both_databases_actions_and_their_entries_commit_together(db_app: Flask) -> None:
    admin = signed_in(db_app, "alice", "admin")
    made = admin.call("POST", "/admin/api/clients", BANK)
    assert made.status_code == 201, made.get_json()
    client_id = made.get_json()["client"]["client_id"]
    assert admin.call("POST", f"/admin/api/clients/{client_id}/disable",
                      {"reason": "contract ended"}).status_code == 200
    [disabled] = _entries(db_app, "admin.client.disable")
    assert (disabled.target, disabled.details["reason"]) == (client_id, "contract ended")
    log = services_of(db_app).audit
    assert verify_chain(log.scan()).size == log.head()[0]


def test_a_refused_request_with_a_nul_character_is_recorded_on_both_databases(
        db_app: Flask) -> None:
    answer = db_app.test_client().get("/admin/api/clients/x%00y")
    assert answer.status_code == 401
    [refused] = _entries(db_app, "admin.getClient")
    assert (refused.actor, refused.target) == ("anonymous", "/admin/api/clients/x\ufffdy")


def test_the_home_page_shows_the_chain_head_and_the_last_checkpoint(app: Flask,
                                                                   auditor: Admin) -> None:
    from idp.audit import checkpoints

    before = auditor.browser.get("/admin/?lang=en").get_data(as_text=True)
    assert "No signed checkpoint yet" in before
    services = services_of(app)
    made = checkpoints.create(services.audit, services.keys)
    home = auditor.browser.get("/admin/?lang=en").get_data(as_text=True)
    assert f"Last signed checkpoint: seq {made.seq}," in home
    assert f"{services.audit.head()[1][:16]}" in home
