"""``server.trusted_proxies``: the client address and https from a reverse proxy's headers, and
only when the operator says a proxy is there (anyone can send X-Forwarded-For)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from idp.app import create_app, services_of
from idp.settings import Settings, ThrottleRule, ThrottleSettings
from tests.unit.oidc.conftest import ISSUER, REDIRECT, register

LIMIT = 2


def _app(settings: Settings, proxies: int) -> Flask:
    return create_app(settings.model_copy(update={
        "oidc": settings.oidc.model_copy(update={"issuer": ISSUER}),
        "server": settings.server.model_copy(update={"trusted_proxies": proxies}),
        "throttle": ThrottleSettings(client_auth=ThrottleRule(limit=LIMIT, window_seconds=300))}))


@pytest.fixture(params=[0, 1], ids=["no proxy", "one proxy"])
def idp(request: pytest.FixtureRequest, sqlite_settings: Settings) -> Iterator[Flask]:
    app = _app(sqlite_settings, request.param)
    yield app
    services_of(app).engine.dispose()


def _token(app: Flask, client_id: str, secret: str, forwarded_for: str) -> Any:
    return app.test_client().post(
        "/token", data={"grant_type": "refresh_token", "refresh_token": "x"},
        auth=(client_id, secret), headers={"X-Forwarded-For": forwarded_for})


def test_the_client_address_comes_from_x_forwarded_for_only_behind_a_trusted_proxy(
        idp: Flask) -> None:
    client_id, secret = register(idp)
    for _ in range(LIMIT):
        assert _token(idp, client_id, "wrong", "203.0.113.1").status_code == 401
    assert _token(idp, client_id, secret, "203.0.113.1").status_code == 429
    elsewhere = _token(idp, client_id, secret, "203.0.113.2")
    proxied = services_of(idp).settings.server.trusted_proxies > 0
    # Behind the proxy, another person is another address; without one, the header is
    # anybody's to forge and the connection's own address (the same here) counts.
    assert elsewhere.status_code == (400 if proxied else 429)


def test_https_at_the_proxy_makes_the_cookies_secure_only_behind_a_trusted_proxy(
        idp: Flask) -> None:
    client_id, _ = register(idp)
    answer = idp.test_client().get("/authorize", headers={"X-Forwarded-Proto": "https"},
                                   query_string={"client_id": client_id,
                                                 "redirect_uri": REDIRECT,
                                                 "response_type": "code", "scope": "openid",
                                                 "nonce": "n", "code_challenge": "x" * 43,
                                                 "code_challenge_method": "S256"})
    cookies = answer.headers.getlist("Set-Cookie")
    assert cookies, answer.status_code
    proxied = services_of(idp).settings.server.trusted_proxies > 0
    assert all(("; Secure" in cookie) == proxied for cookie in cookies), cookies
