"""Administrators for tests: an IdP app whose /admin runs on http://localhost (the test
client's origin), administrators enrolled with a software authenticator, signed-in browsers
(the test client's, or Chromium's with a virtual authenticator) and API tokens."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from idp.admin.identity import CLI
from idp.app import services_of
from idp.settings import Settings
from tests.support.webauthn_authenticator import SoftAuthenticator

ORIGIN = "http://localhost"


def admin_settings(settings: Settings, **admin: Any) -> Settings:
    return settings.model_copy(update={
        "oidc": settings.oidc.model_copy(update={"issuer": ORIGIN}),
        "webauthn": settings.webauthn.model_copy(update={"origins": (ORIGIN,)}),
        "admin": settings.admin.model_copy(update=admin)})


@dataclass
class Admin:
    """An enrolled administrator: their authenticator, and a browser signed in as them."""

    app: Flask
    name: str
    admin_id: str
    authenticator: SoftAuthenticator
    browser: FlaskClient
    csrf: str = ""

    def sign_in(self) -> Any:
        started = self.browser.post("/admin/api/session/options").get_json()
        answer = self.authenticator.get(json.dumps(started["options"]), origin=ORIGIN)
        response = self.browser.post("/admin/api/session", json={
            "handle": started["handle"], "credential": json.loads(answer)})
        if response.status_code == 200:
            self.csrf = response.get_json()["csrf_token"]
        return response

    def confirm(self) -> Any:
        started = self.browser.post("/admin/api/session/confirm/options",
                                    headers={"X-CSRF-Token": self.csrf}).get_json()
        answer = self.authenticator.get(json.dumps(started["options"]), origin=ORIGIN)
        return self.browser.post("/admin/api/session/confirm", headers={
            "X-CSRF-Token": self.csrf}, json={"handle": started["handle"],
                                              "credential": json.loads(answer)})

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """A call of the admin API from the signed-in browser, with its CSRF token."""
        return self.browser.open(path, method=method, json=body,
                                 headers={"X-CSRF-Token": self.csrf})

    def token(self, ttl: int | None = None) -> str:
        return services_of(self.app).admin.identity.issue_token(self.name, ttl)[0]


def add_admin(app: Flask, name: str, role: str) -> tuple[str, str]:
    """(admin_id, enrolment secret) of a new administrator, as `idp admin add` makes one."""
    return services_of(app).admin.identity.add(CLI, name, role)


def sign_in_with_chromium(context: Any, app: Flask, base: str, name: str, role: str) -> Any:
    """A new administrator enrols their passkey (a DevTools virtual authenticator in the
    Playwright browser ``context``) at the URL `idp admin add` printed and signs in with it;
    their page, on /admin/."""
    from tests.support.browser import VirtualAuthenticator

    _admin_id, secret = add_admin(app, name, role)
    page = context.new_page()
    VirtualAuthenticator.attach(page)
    page.goto(f"{base}/admin/enrol/{secret}")
    page.click("#enrol")
    page.locator("#enrolled").wait_for()
    page.click("#enrolled a")
    page.wait_for_url(f"{base}/admin/login")
    page.click("#sign-in")
    page.wait_for_url(f"{base}/admin/")
    return page


def enrol(app: Flask, name: str, role: str) -> Admin:
    admin_id, secret = add_admin(app, name, role)
    browser = app.test_client()
    authenticator = SoftAuthenticator()
    started = browser.post(f"/admin/api/enrol/{secret}/options").get_json()
    made = authenticator.create(json.dumps(started["options"]), origin=ORIGIN)
    answer = browser.post(f"/admin/api/enrol/{secret}", json={
        "handle": started["handle"], "credential": json.loads(made)})
    assert answer.status_code == 200, answer.get_json()
    return Admin(app, name, admin_id, authenticator, browser)


def signed_in(app: Flask, name: str, role: str) -> Admin:
    admin = enrol(app, name, role)
    assert admin.sign_in().status_code == 200
    return admin


def admin_browser(app: Flask, name: str = "sweeper", role: str = "admin") -> tuple[FlaskClient,
                                                                                    str]:
    """A browser with an administrator's session written straight into the database (as
    ``tests.support.login`` does for people; no route can do this), and its CSRF token."""
    import hashlib
    import hmac
    import secrets
    import time

    from idp import db
    from idp.admin.identity import digest
    from idp.admin.models import AdminSession

    admin_id, _secret = add_admin(app, name, role)
    token, now = secrets.token_urlsafe(32), int(time.time())
    with db.transaction(services_of(app).sessions) as session:
        session.add(AdminSession(id_hash=digest(token), admin_id=admin_id, created_at=now,
                                 expires_at=now + 3600, confirmed_at=now))
    browser = app.test_client()
    browser.set_cookie("idp_admin", token, domain="localhost", path="/admin")
    csrf = hmac.new(services_of(app).secret_key.encode(), f"admin:{token}".encode(),
                    hashlib.sha256).hexdigest()
    return browser, csrf
