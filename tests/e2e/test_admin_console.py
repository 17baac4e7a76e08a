"""The administrators' journeys in headless Chromium with the DevTools virtual authenticator:
enrol a passkey from the one-time URL and sign in with it; register a relying party and log a
person in at it; look an account up as support (the 4 info hidden until a reason is given, the
passkey asked for again); an auditor refused every change."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from flask import Flask
from sqlalchemy import update

from idp import db
from idp.accounts.jpki_models import Basic4Record
from idp.accounts.sessions import COOKIE_NAME
from idp.admin.models import AdminSession
from idp.app import services_of
from idp.settings import Settings
from tests.support.admin import add_admin, sign_in_with_chromium
from tests.support.browser import SCREENSHOTS, VirtualAuthenticator, browser, watch_csp
from tests.support.login import login_session
from tests.support.site import CurrentAnchors, at_origin, serving
from tests.unit.oidc.conftest import pkce

pytestmark = [pytest.mark.browser, pytest.mark.slow]
BASIC4 = {"name": "山田\u3000花子", "birth_date": "1990-01-02", "sex": "2",
          "address": "東京都千代田区霞が関1-1"}


@pytest.fixture
def idp(sqlite_settings: Settings) -> Iterator[tuple[Flask, str]]:
    with serving(lambda base: at_origin(sqlite_settings, base),
                 anchors=CurrentAnchors()) as running:
        yield running


def test_enrol_a_passkey_and_sign_in_with_it(idp: tuple[Flask, str]) -> None:
    app, base = idp
    with browser() as chromium:
        context = chromium.new_context(locale="ja-JP")
        _admin_id, secret = add_admin(app, "alice", "admin")
        page = context.new_page()
        violations = watch_csp(page)
        authenticator = VirtualAuthenticator.attach(page)
        page.goto(f"{base}/admin/enrol/{secret}")
        assert "alice" in page.inner_text("main")
        page.screenshot(path=str(SCREENSHOTS / "admin-enrol.png"))
        page.click("#enrol")
        page.locator("#enrolled").wait_for()
        assert len(authenticator.credentials()) == 1
        again = page.goto(f"{base}/admin/enrol/{secret}")
        assert again is not None
        assert again.status == 400
        assert "enrolment_used" in page.content()  # the URL works once

        page.goto(f"{base}/admin/")
        page.wait_for_url(f"{base}/admin/login")  # not signed in yet
        page.click("#sign-in")
        page.wait_for_url(f"{base}/admin/")
        assert "プラットフォームの状態" in page.inner_text("h1")
        assert page.locator("#keys tr").count() >= 4  # the three signing keys and a header
        assert page.inner_text("#backlog-logout") == "0"
        page.screenshot(path=str(SCREENSHOTS / "admin-home.png"))
        page.goto(f"{base}/admin/?lang=en")
        assert "Platform health" in page.inner_text("h1")

        page.click("#sign-out")
        page.wait_for_url(f"{base}/admin/login")
        page.goto(f"{base}/admin/clients")
        page.wait_for_url(f"{base}/admin/login")
        context.close()
    assert violations == []


def test_register_a_relying_party_and_log_in_at_it(idp: tuple[Flask, str]) -> None:
    app, base = idp
    with browser() as chromium:
        context = chromium.new_context(locale="ja-JP")
        page = sign_in_with_chromium(context, app, base, "alice", "admin")
        violations = watch_csp(page)
        page.goto(f"{base}/admin/clients/new")
        page.fill("input[name=name]", "Example Bank")
        page.fill("textarea[name=redirect_uris]", f"{base}/rp/cb")
        page.click("#client-form button[type=submit]")
        secret = page.locator("#secret .value")
        secret.wait_for()
        client_secret = secret.inner_text()
        client_id = page.inner_text("#created-client")
        page.goto(f"{base}/admin/clients")
        assert "Example Bank" in page.inner_text("#clients")
        page.screenshot(path=str(SCREENSHOTS / "admin-clients.png"))

        person = chromium.new_context(locale="ja-JP")
        _, cookie = login_session(app)
        person.add_cookies([{"name": COOKIE_NAME, "value": cookie, "url": base}])
        browsing = person.new_page()
        verifier, challenge = pkce()
        browsing.goto(f"{base}/authorize?" + urlencode({
            "client_id": client_id, "redirect_uri": f"{base}/rp/cb", "response_type": "code",
            "scope": "openid profile", "state": "st", "nonce": "n",
            "code_challenge": challenge, "code_challenge_method": "S256"}))
        with browsing.expect_navigation(url=f"{base}/rp/cb*"):
            browsing.click("button[data-approve=true]")
        code = parse_qs(urlsplit(browsing.url).query)["code"][0]
        tokens = requests.post(f"{base}/token", auth=(client_id, client_secret), timeout=10,
                               data={"grant_type": "authorization_code", "code": code,
                                     "code_verifier": verifier,
                                     "redirect_uri": f"{base}/rp/cb"})
        assert tokens.status_code == 200, tokens.text
        assert "id_token" in tokens.json()
        person.close()
        context.close()
    assert violations == []


def test_support_sees_the_4_info_only_after_giving_a_reason(idp: tuple[Flask, str]) -> None:
    app, base = idp
    private_id, _ = login_session(app)
    with db.transaction(services_of(app).sessions) as session:
        session.add(Basic4Record(private_id=private_id, basic4=BASIC4, source="certificate",
                                 anchor_serial="0a", current=True))
    with browser() as chromium:
        context = chromium.new_context(locale="ja-JP")
        page = sign_in_with_chromium(context, app, base, "sam", "support")
        violations = watch_csp(page)
        page.goto(f"{base}/admin/accounts")
        page.fill("#find-by-id input[name=private_id]", private_id)
        page.click("#find-by-id button")
        page.click(f"#found a[href='/admin/accounts/{private_id}']")
        page.wait_for_url(f"{base}/admin/accounts/{private_id}")
        assert "花子" not in page.content()  # hidden
        assert page.locator("#four-info-values").is_hidden()

        page.click("#reveal-form button")  # no reason: the browser asks for one
        assert page.locator("#four-info-values").is_hidden()
        # Long after signing in: revealing asks for the passkey again, then shows them.
        with db.transaction(services_of(app).sessions) as session:
            session.execute(update(AdminSession).values(confirmed_at=int(time.time()) - 3600))
        page.fill("#reveal-form input[name=reason]", "本人から電話、受付番号 42")
        page.click("#reveal-form button")
        page.locator("#four-info-values").wait_for()
        assert page.inner_text("#four-info-values dd[data-field=name]") == BASIC4["name"]
        page.screenshot(path=str(SCREENSHOTS / "admin-account.png"))
        context.close()
    assert violations == []


def test_an_auditor_is_refused_every_change(idp: tuple[Flask, str]) -> None:
    app, base = idp
    private_id, _ = login_session(app)
    with browser() as chromium:
        admin = chromium.new_context(locale="en-US")
        admin_page = sign_in_with_chromium(admin, app, base, "alice", "admin")
        answer = admin_page.request.post(f"{base}/admin/api/clients", headers={
            "X-CSRF-Token": admin_page.get_attribute("meta[name=csrf-token]", "content")},
            data={"name": "Bank", "redirect_uris": [f"{base}/rp/cb"]})
        client_id = answer.json()["client"]["client_id"]
        before = admin_page.request.get(f"{base}/admin/api/clients").json()

        context = chromium.new_context(locale="en-US")
        page = sign_in_with_chromium(context, app, base, "olivia", "auditor")
        violations = watch_csp(page)
        refusals = []
        page.goto(f"{base}/admin/clients/{client_id}?lang=en")
        for form in ("#client-form", "#rotate-form", "#disable-form"):
            if page.locator(f"{form} input[name=reason]").count():
                page.fill(f"{form} input[name=reason]", "audit")
            page.click(f"{form} button[type=submit]")
            error = page.locator(f"{form} .error[data-code=forbidden]")
            error.wait_for()
            refusals.append(error.inner_text())
        page.goto(f"{base}/admin/clients/new?lang=en")
        page.fill("input[name=name]", "Shop")
        page.fill("textarea[name=redirect_uris]", f"{base}/rp/cb")
        page.click("#client-form button[type=submit]")
        page.locator("#client-form .error[data-code=forbidden]").wait_for()
        page.goto(f"{base}/admin/accounts/{private_id}?lang=en")
        page.fill("#lock-form input[name=reason]", "audit")
        page.click("#lock-form button")
        page.locator("#lock-form .error[data-code=forbidden]").wait_for()
        page.goto(f"{base}/admin/admins?lang=en")
        page.fill("#add-admin-form input[name=name]", "mallory")
        page.click("#add-admin-form button")
        page.locator("#add-admin-form .error[data-code=forbidden]").wait_for()
        page.screenshot(path=str(SCREENSHOTS / "admin-auditor-refused.png"))

        # In the administrator's words: their role, what the action needs, who may do it.
        assert refusals == [
            f"Your role (auditor) does not allow this action ({action}). Ask an administrator "
            "with the role administrator. Nothing was changed." for action in (
                "register or change relying parties", "rotate client secrets",
                "disable relying parties")]
        assert admin_page.request.get(f"{base}/admin/api/clients").json() == before
        admins = admin_page.request.get(f"{base}/admin/api/admins").json()["admins"]
        assert "mallory" not in [a["name"] for a in admins]
        locked = admin_page.request.get(f"{base}/admin/api/accounts/{private_id}").json()
        assert locked["lock"] is None
        context.close()
        admin.close()
    assert violations == []


def test_change_the_trust_policy_and_roll_it_back(idp: tuple[Flask, str]) -> None:
    app, base = idp
    with browser() as chromium:
        context = chromium.new_context(locale="ja-JP")
        page = sign_in_with_chromium(context, app, base, "alice", "admin")
        violations = watch_csp(page)
        page.goto(f"{base}/admin/trust")
        first = int(page.get_attribute("#policy-version", "data-version") or 0)
        row = page.locator("#anchors tr[data-purpose=sign][data-generation='2023']")
        assert "廃止" in row.inner_text()  # the shipped J-LIS CAs start retired
        row.locator("input[name=reason]").fill("本番の署名用 CA 2023 を信頼する")
        with page.expect_navigation():
            row.locator("button").click()
        assert page.get_attribute("#policy-version", "data-version") == str(first + 1)

        # Long after signing in: the change asks for the passkey again, then is made.
        with db.transaction(services_of(app).sessions) as session:
            session.execute(update(AdminSession).values(confirmed_at=int(time.time()) - 3600))
        page.fill("#set-form input[name=key]", "revocation.sign.method")
        page.fill("#set-form input[name=value]", "crl")
        page.fill("#set-form input[name=reason]", "J-LIS OCSP の保守")
        with page.expect_navigation():
            page.click("#set-form button[type=submit]")
        assert page.get_attribute("#policy-version", "data-version") == str(first + 2)
        assert "crl" in page.inner_text("#revocation")
        history = page.locator(f"#versions tr[data-version='{first + 2}']").inner_text()
        assert "admin:alice" in history
        assert "revocation.sign.method" in history

        refused = page.locator("#set-form")
        refused.locator("input[name=key]").fill("revocation.sign.method")
        refused.locator("input[name=value]").fill("carrier-pigeon")
        refused.locator("input[name=reason]").fill("x")
        refused.locator("button[type=submit]").click()
        refused.locator(".error[data-code=invalid_trust_policy]").wait_for()

        back = page.locator(f"#versions tr[data-version='{first}']")
        back.locator("input[name=reason]").fill("元に戻す")
        with page.expect_navigation():
            back.locator("button").click()
        assert page.get_attribute("#policy-version", "data-version") == str(first + 3)
        assert "ocsp_then_crl" in page.inner_text("#revocation")
        page.screenshot(path=str(SCREENSHOTS / "admin-trust.png"))
        context.close()
    assert violations == []
