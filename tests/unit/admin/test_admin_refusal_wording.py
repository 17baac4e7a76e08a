"""Refusals on /admin speak to administrators, not to the people who sign in: a role beyond its
rights is told its role, what the action needs and which role may do it; invalid input names
the field and says nothing changed; a console page refused renders in the console's frame with
the way on (never the person's "go back to the service you were using"). In Japanese by
default, in English with ?lang=en; the stable ``error`` codes do not change."""

from __future__ import annotations

from flask import Flask

from tests.support.admin import Admin, add_admin

PERSON_WORDING = ("利用していたサービスに戻り", "Go back to the service you were using")


def _page(admin: Admin, path: str) -> tuple[int, str]:
    answer = admin.browser.get(path, headers={"Accept": "text/html"})
    return answer.status_code, answer.get_data(as_text=True)


def test_a_role_beyond_its_rights_is_told_its_role_and_who_may(app: Flask, auditor: Admin,
                                                               support: Admin) -> None:
    refused = auditor.call("POST", "/admin/api/clients", {
        "name": "Shop", "redirect_uris": ["https://shop.example/cb"]})
    assert (refused.status_code, refused.get_json()["error"]) == (403, "forbidden")
    assert refused.get_json()["error_description"] == (
        "あなたの役割（監査担当）では、この操作（RP の登録・変更）はできません。管理者の役割を持つ"
        "管理者に依頼してください。何も変更されていません。")
    english = auditor.call("POST", "/admin/api/trust/policy/set?lang=en", {
        "key": "revocation.sign.method", "value": "crl", "reason": "x"}).get_json()
    assert english["error_description"] == (
        "Your role (auditor) does not allow this action (change the trust policy). Ask an "
        "administrator with the role administrator. Nothing was changed.")
    # Support may not see the relying parties: the console page says so in its own frame.
    status, page = _page(support, "/admin/clients?lang=en")
    assert status == 403
    assert 'data-code="forbidden"' in page
    assert "Your role (support) does not allow this action (see relying parties)" in page
    assert "administrator, auditor" in page  # the roles that may
    assert 'href="/admin/"' in page  # the way back into the console
    assert not any(words in page for words in PERSON_WORDING)


def test_invalid_input_names_the_field_and_says_nothing_changed(app: Flask,
                                                                admin: Admin) -> None:
    bad = admin.call("POST", "/admin/api/clients?lang=en", {
        "name": "Shop", "redirect_uris": ["ftp://shop.example/cb"]}).get_json()
    assert bad["error"] == "invalid_request"
    assert bad["error_description"].startswith("The input is not valid: redirect URI ")
    assert bad["error_description"].endswith("Correct it and send it again. Nothing was changed.")
    policy = admin.call("POST", "/admin/api/trust/policy/set", {
        "key": "revocation.sign.method", "value": "carrier-pigeon", "reason": "x"}).get_json()
    assert policy["error"] == "invalid_trust_policy"
    assert policy["error_description"].startswith("信頼ポリシーの変更を受け付けられません: ")
    assert "carrier-pigeon" in policy["error_description"] or "method" in \
        policy["error_description"]
    assert "ポリシーは変更されていません" in policy["error_description"]
    missing = admin.call("GET", "/admin/api/accounts/pid_nobody?lang=en").get_json()
    assert missing["error_description"] == (
        "Not found: no account has the private ID 'pid_nobody'. Check the ID, or pick it again "
        "from the list.")
    status, page = _page(admin, "/admin/accounts/pid_nobody")
    assert (status, 'data-code="not_found"' in page) == (404, True)
    assert "見つかりません" in page
    assert not any(words in page for words in PERSON_WORDING)
    # An inline refusal of a console page (the audit filter) in the same words.
    status, page = _page(admin, "/admin/audit?limit=0&lang=en")
    assert status == 200
    assert "The input is not valid: a filter is too long" in page


def test_sign_in_refusals_say_what_to_do(app: Flask, admin: Admin) -> None:
    stale = admin.browser.post("/admin/api/clients?lang=en", json={"name": "x"},
                               headers={"X-CSRF-Token": "stale"})
    assert (stale.status_code, stale.get_json()["error"]) == (403, "csrf_failed")
    assert "Reload it and repeat the action. Nothing was changed." in \
        stale.get_json()["error_description"]
    nobody = app.test_client().get("/admin/api/clients?lang=en").get_json()
    assert "Sign in again with your passkey" in nobody["error_description"]
    status, page = _page(Admin(app, "x", "x", admin.authenticator, app.test_client()),
                         "/admin/enrol/not-a-real-url")
    assert status == 400
    assert "idp admin enrol NAME" in page  # how to get a new URL
    assert 'href="/admin/login"' in page
    assert not any(words in page for words in PERSON_WORDING)
    _admin_id, secret = add_admin(app, "dana", "support")
    assert app.test_client().get(f"/admin/enrol/{secret}").status_code == 200


def test_another_parts_sentence_is_kept_inside_the_admin_wording(app: Flask,
                                                                 admin: Admin) -> None:
    """The metering page's own refusal ("give the month as YYYY-MM") keeps its hint."""
    status, page = _page(admin, "/admin/metering?month=2026-13&lang=en")
    assert status == 200
    assert "The input is not valid: Give the month as YYYY-MM (for example 2026-04)" in page
