"""An IdP app with registered clients, and a relying party driving it via Flask's test client."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from idp import db
from idp.accounts.sessions import COOKIE_NAME
from idp.app import create_app, services_of
from idp.oidc import clients
from idp.settings import Settings
from tests.support.login import login_session

ISSUER = "http://idp.test"
REDIRECT = "https://rp.example/cb"


def at_issuer(settings: Settings, **updates: Any) -> Settings:
    """``settings`` with the tests' issuer, and any other top-level ``updates``."""
    return settings.model_copy(update={
        "oidc": settings.oidc.model_copy(update={"issuer": ISSUER}), **updates})


@contextmanager
def idp_app(settings: Settings, **components: Any) -> Iterator[Flask]:
    """The IdP at the tests' issuer (``create_app``'s ``components``: e.g. a fake ``anchors``
    checker); its database connections closed after."""
    application = create_app(at_issuer(settings), **components)
    try:
        yield application
    finally:
        services_of(application).engine.dispose()


@pytest.fixture
def app(sqlite_settings: Settings) -> Iterator[Flask]:
    with idp_app(sqlite_settings) as application:
        yield application


def register(app: Flask, **metadata: Any) -> tuple[str, str | None]:
    metadata.setdefault("name", "Example RP")
    metadata.setdefault("redirect_uris", [REDIRECT])
    with db.transaction(services_of(app).sessions) as session:
        return clients.register(session, **metadata)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@dataclass
class Rp:
    """A relying party and its user's browser, both on the Flask test client."""

    app: Flask
    browser: FlaskClient
    client_id: str
    secret: str | None

    @classmethod
    def registered(cls, app: Flask, **metadata: Any) -> Rp:
        """A newly registered client (``register``'s ``metadata``) with a fresh browser."""
        client_id, secret = register(app, **metadata)
        return cls(app, app.test_client(), client_id, secret)

    def login(self, **kwargs: Any) -> str:
        private_id, cookie = login_session(self.app, **kwargs)
        self.browser.set_cookie(COOKIE_NAME, cookie, domain="localhost")
        return private_id

    def authorize(self, **overrides: Any) -> tuple[str, str]:
        """Send the browser to /authorize; returns (where it was sent, the PKCE verifier)."""
        verifier, challenge = pkce()
        params = {"client_id": self.client_id, "redirect_uri": REDIRECT, "response_type": "code",
                  "scope": "openid profile", "state": "st-1", "nonce": "n-1",
                  "code_challenge": challenge, "code_challenge_method": "S256", **overrides}
        params = {k: v for k, v in params.items() if v is not None}
        response = self.browser.get("/authorize", query_string=params)
        assert response.status_code in (302, 303), response.get_data(as_text=True)
        return response.headers["Location"], verifier

    def interaction(self, location: str) -> dict[str, Any]:
        path = urlsplit(location).path
        response = self.browser.get(path, headers={"Accept": "application/json"})
        assert response.status_code == 200, response.get_data(as_text=True)
        data: dict[str, Any] = response.get_json()
        return data

    def act(self, state: dict[str, Any], action: str, body: dict[str, Any]) -> Any:
        href = state["actions"][action]["href"]
        return self.browser.post(href, json=body, headers={"X-CSRF-Token": state["csrf_token"]})

    def code(self, **overrides: Any) -> tuple[str, str]:
        """A code for a logged-in browser, consenting to everything asked; (code, verifier)."""
        location, verifier = self.authorize(**overrides)
        if "/interaction/" in location:
            state = self.interaction(location)
            assert state["prompt"] == "consent", state
            response = self.act(state, "consent",
                                {"approve": True, "claims": state["requested"]["claims"]})
            location = response.get_json()["redirect_to"]
        params = query(location)
        assert "code" in params, params
        return params["code"], verifier

    def token(self, **form: str) -> Any:
        auth = (self.client_id, self.secret) if self.secret else None
        return self.browser.post("/token", data=form, auth=auth)

    def exchange(self, code: str, verifier: str) -> Any:
        return self.token(grant_type="authorization_code", code=code, code_verifier=verifier,
                          redirect_uri=REDIRECT)


@pytest.fixture
def rp(app: Flask) -> Rp:
    return Rp.registered(app)


@pytest.fixture
def db_app(settings: Settings) -> Iterator[Flask]:
    """The app on the parametrised database (SQLite and PostgreSQL in turn)."""
    oidc = settings.oidc.model_copy(update={"issuer": ISSUER})
    application = create_app(settings.model_copy(update={"oidc": oidc}))
    yield application
    services_of(application).engine.dispose()


@pytest.fixture
def db_rp(db_app: Flask) -> Rp:
    return Rp.registered(db_app)
