"""The trust policy from the admin API (over ``idp.trustpolicy``): read by every reading role,
changed only by an admin with a reason and a fresh passkey confirmation, each change a new
version made by ``admin:<name>``, with history and rollback; invalid changes refused with
nothing changed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from flask import Flask

from idp.app import services_of
from tests.support.admin import Admin

SHIPPED = Path(__file__).parents[3] / "trust" / "jpki_ca"


def _policy(admin: Admin) -> dict[str, object]:
    found: dict[str, object] = admin.call("GET", "/admin/api/trust/policy").get_json()
    return found


def test_a_change_is_a_new_version_with_who_why_and_what(admin: Admin, auditor: Admin) -> None:
    first = _policy(auditor)
    changed = admin.call("POST", "/admin/api/trust/policy/set", {
        "key": "revocation.sign.method", "value": "ocsp", "reason": "J-LIS CRL maintenance",
        "expected_version": first["version"]})
    assert changed.status_code == 200, changed.get_json()
    version = changed.get_json()
    assert version["version"] == first["version"] + 1
    assert (version["actor"], version["reason"]) == ("admin:alice", "J-LIS CRL maintenance")
    assert version["diff"] == [{"path": "revocation.sign.method", "from": "ocsp_then_crl",
                                "to": "ocsp"}]
    assert _policy(auditor)["policy"]["revocation"]["sign"]["method"] == "ocsp"
    history = auditor.call("GET", "/admin/api/trust/policy/versions").get_json()["versions"]
    assert [v["version"] for v in history] == [version["version"], first["version"]]
    assert "policy" not in history[0] or history[0]["policy"] is None


def test_a_rollback_makes_an_earlier_version_current_as_a_new_one(admin: Admin) -> None:
    first = _policy(admin)
    admin.call("POST", "/admin/api/trust/policy/set", {"key": "media.smartphone.max_ial",
                                                       "value": 1, "reason": "incident"})
    back = admin.call("POST", "/admin/api/trust/policy/rollback",
                      {"version": first["version"], "reason": "incident over"}).get_json()
    assert back["rollback_of"] == first["version"]
    assert back["policy"] == first["policy"]
    assert back["version"] == first["version"] + 2


@pytest.mark.parametrize(("body", "why"), [
    ({"key": "revocation.sign.method", "value": "carrier-pigeon"}, "method"),
    ({"key": "revocation.auth.max_crl_staleness_seconds", "value": -1}, "greater than"),
    ({"key": "revocation.sign.colour", "value": "red"}, "colour"),
])
def test_an_invalid_change_is_refused_and_nothing_changes(admin: Admin, body: dict[str, object],
                                                          why: str) -> None:
    before = admin.call("GET", "/admin/api/trust/policy/versions").get_json()
    refused = admin.call("POST", "/admin/api/trust/policy/set", {**body, "reason": "test"})
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_trust_policy"
    assert why in refused.get_json()["error_description"]
    assert admin.call("GET", "/admin/api/trust/policy/versions").get_json() == before


def test_a_whole_policy_replaces_the_current_one_once(admin: Admin) -> None:
    current = _policy(admin)
    policy = dict(current["policy"])  # type: ignore[arg-type]
    policy["media"] = {"card": {"max_ial": 2}, "smartphone": {"max_ial": 1}}
    body = {"policy": policy, "reason": "smartphones to IAL1",
            "expected_version": current["version"]}
    assert admin.call("PUT", "/admin/api/trust/policy", body).status_code == 200
    stale = admin.call("PUT", "/admin/api/trust/policy", body)
    assert (stale.status_code, stale.get_json()["error"]) == (409, "trust_policy_conflict")
    broken = admin.call("PUT", "/admin/api/trust/policy", {"policy": {"anchors": "all"},
                                                           "reason": "x"})
    assert broken.status_code == 400


def test_retire_and_enable_a_ca_generation(admin: Admin) -> None:
    anchors = _policy(admin)["policy"]["anchors"]  # type: ignore[index]
    shipped = next(a for a in anchors if a["purpose"] == "sign" and a["generation"] == "2023")
    enabled = admin.call("POST", "/admin/api/trust/anchors/enable", {
        "fingerprint": shipped["fingerprint"], "reason": "test"})
    assert enabled.status_code == 200, enabled.get_json()
    retired = admin.call("POST", "/admin/api/trust/anchors/retire", {
        "purpose": "sign", "generation": "2023", "reason": "generation withdrawn"}).get_json()
    assert retired["diff"][0]["path"].endswith(".enabled")
    assert retired["diff"][0]["to"] is False
    unknown = admin.call("POST", "/admin/api/trust/anchors/retire",
                         {"generation": "1999", "reason": "x"})
    assert unknown.status_code == 400


def test_a_file_that_is_not_a_ca_is_refused(admin: Admin, tmp_path: Path) -> None:
    refused = admin.call("POST", "/admin/api/trust/anchors", {
        "pem": "-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n",
        "purpose": "sign", "reason": "x"})
    assert refused.status_code == 400
    shipped = (SHIPPED / "sign" / "sign_ca_2023.pem").read_text()
    added = admin.call("POST", "/admin/api/trust/anchors", {
        "pem": shipped, "purpose": "sign", "reason": "trust the 2023 generation"})
    assert added.status_code == 201, added.get_json()


def test_a_trust_change_from_an_old_session_asks_for_the_passkey(
        app: Flask, admin: Admin, monkeypatch: pytest.MonkeyPatch) -> None:
    identity = services_of(app).admin.identity
    later = time.time() + identity.window + 1
    monkeypatch.setattr(identity, "_clock", lambda: later)
    body = {"key": "revocation.sign.method", "value": "crl", "reason": "test"}
    refused = admin.call("POST", "/admin/api/trust/policy/set", body)
    assert refused.get_json()["error"] == "confirmation_required"
    assert admin.confirm().status_code == 200
    assert admin.call("POST", "/admin/api/trust/policy/set", body).status_code == 200


def test_the_trust_page_shows_the_policy_and_its_history(admin: Admin) -> None:
    admin.call("POST", "/admin/api/trust/policy/set", {"key": "revocation.sign.method",
                                                       "value": "crl", "reason": "test"})
    page = admin.browser.get("/admin/trust?lang=en").get_data(as_text=True)
    assert "Trust policy" in page
    assert "admin:alice" in page
    assert "revocation.sign.method" in page


def test_a_version_number_beyond_any_database_integer_is_refused(admin: Admin) -> None:
    """Found by Schemathesis: 2**63 reached SQLite as an OverflowError (a 500)."""
    answer = admin.call("POST", "/admin/api/trust/policy/rollback",
                        {"version": 2**63, "reason": "x"})
    assert answer.status_code == 400
    unknown = admin.call("POST", "/admin/api/trust/policy/rollback",
                         {"version": 999, "reason": "x"})
    assert unknown.status_code == 404


def test_fail_closed_per_level_from_the_api_in_the_page_and_the_diff(admin: Admin,
                                                                    auditor: Admin) -> None:
    one = admin.call("POST", "/admin/api/trust/policy/set?lang=en", {
        "key": "revocation.sign.fail_closed.ial1", "value": False,
        "reason": "J-LIS outage: IAL1 logins may go on degraded"})
    assert one.status_code == 200, one.get_json()
    assert one.get_json()["diff"] == [
        {"path": "revocation.sign.fail_closed", "from": True, "to": None},
        {"path": "revocation.sign.fail_closed.ial1", "from": None, "to": False},
        {"path": "revocation.sign.fail_closed.ial2", "from": None, "to": True}]
    assert _policy(auditor)["policy"]["revocation"]["sign"]["fail_closed"] == {  # type: ignore[index]
        "ial1": False, "ial2": True}
    page = auditor.browser.get("/admin/trust?lang=en").get_data(as_text=True)
    assert '<span data-level="ial1">IAL1: go on degraded</span>' in page
    assert '<span data-level="ial2">IAL2: refuse (fail closed)</span>' in page
    assert '<span data-level="all">all levels: refuse (fail closed)</span>' in page  # auth
    assert "revocation.sign.fail_closed.ial1" in page  # the history's diff
    bad = admin.call("POST", "/admin/api/trust/policy/set?lang=en", {
        "key": "revocation.sign.fail_closed", "value": {"ial2": True}, "reason": "x"})
    assert (bad.status_code, bad.get_json()["error"]) == (400, "invalid_trust_policy")
    assert "no rule for ial1" in bad.get_json()["error_description"]


@pytest.mark.parametrize("version", ["abc", "%C2%B2", "%D9%A3", "1234567890"])
def test_a_version_that_is_not_a_plain_number_is_refused(admin: Admin, version: str) -> None:
    """"²" and "٣" are digits to ``str.isdigit`` (found by Schemathesis: a 500)."""
    refused = admin.call("GET", f"/admin/api/trust/policy/versions/{version}")
    assert refused.status_code == 400
    assert "number" in refused.get_json()["error_description"]
