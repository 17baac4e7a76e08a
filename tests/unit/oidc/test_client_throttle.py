"""Failed client authentications are throttled per presented client_id at /token (the WSGI
adapter) and at /par, /revoke, /introspect (Flask): 429 with Retry-After, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine

from idp.app import create_app, services_of
from idp.settings import Settings, ThrottleRule, ThrottleSettings
from tests.support.transactions import on_connections
from tests.unit.oidc.conftest import ISSUER, Rp, register
from tests.unit.oidc.test_token_one_statement import protocol_trace
from tests.unit.test_throttle import START, Clock

LIMIT = 3


def _app(settings: Settings, clock: Clock) -> Flask:
    app = create_app(settings.model_copy(update={
        "oidc": settings.oidc.model_copy(update={"issuer": ISSUER}),
        "throttle": ThrottleSettings(client_auth=ThrottleRule(limit=LIMIT, window_seconds=300))}))
    services_of(app).throttles.client_auth.clock = clock
    return app


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def idp(settings: Settings, clock: Clock) -> Iterator[Flask]:
    app = _app(settings, clock)
    yield app
    services_of(app).engine.dispose()


@pytest.fixture
def rp(idp: Flask) -> Rp:
    return Rp.registered(idp)


def _refresh(rp: Rp, secret: str | None = None) -> Any:
    """A token request whose grant is refused (400) once the client is authenticated."""
    return rp.browser.post("/token", data={"grant_type": "refresh_token",
                                           "refresh_token": "not-a-token"},
                           auth=(rp.client_id, secret or rp.secret))


def _fail(rp: Rp, times: int = LIMIT) -> None:
    for _ in range(times):
        assert _refresh(rp, "wrong-secret").status_code == 401


def test_after_the_limit_even_the_right_secret_gets_429_with_retry_after(
        rp: Rp, clock: Clock) -> None:
    clock.now = START + 60
    _fail(rp)
    refused = _refresh(rp)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "240"
    assert refused.get_json()["error"] == "too_many_attempts"
    clock.now = START + 300  # the window has ended
    assert _refresh(rp).get_json()["error"] == "invalid_grant"  # authenticated again


def test_flask_endpoints_share_the_lock_and_count_failures_too(rp: Rp) -> None:
    for _ in range(LIMIT):
        answer = rp.browser.post("/introspect", data={"token": "x"}, auth=(rp.client_id, "no"))
        assert answer.status_code == 401
    for path in ("/introspect", "/revoke", "/par"):
        refused = rp.browser.post(path, data={"token": "x"}, auth=(rp.client_id, rp.secret))
        assert (refused.status_code, refused.headers["Retry-After"]) == (429, "300"), path
    assert _refresh(rp).status_code == 429


def test_another_client_is_not_affected(rp: Rp, idp: Flask) -> None:
    _fail(rp)
    other_id, other_secret = register(idp)
    other = Rp(idp, idp.test_client(), other_id, other_secret)
    assert _refresh(other).get_json()["error"] == "invalid_grant"


def test_the_same_client_from_another_address_is_not_locked(rp: Rp) -> None:
    """Counted per client_id *and* address: a client_id is public, so bad secrets sent under
    it by anyone else must not lock the relying party itself out."""
    _fail(rp)
    assert _refresh(rp).status_code == 429
    elsewhere = rp.browser.post("/token", data={"grant_type": "refresh_token",
                                                "refresh_token": "not-a-token"},
                                auth=(rp.client_id, rp.secret),
                                environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert elsewhere.get_json()["error"] == "invalid_grant"


def test_a_second_process_locks_at_its_first_failure(
        rp: Rp, settings: Settings, clock: Clock) -> None:
    _fail(rp)
    second = _app(settings, clock)
    try:
        there = Rp(second, second.test_client(), rp.client_id, rp.secret)
        assert _refresh(there).get_json()["error"] == "invalid_grant"  # not told of the lock
        assert _refresh(there, "wrong-secret").status_code == 401  # reads the shared count
        assert _refresh(there).status_code == 429
    finally:
        services_of(second).engine.dispose()


@contextmanager
def sql_sent(engine: Engine) -> Iterator[list[str]]:
    """What the driver really sent meanwhile (the exchange bypasses SQLAlchemy's execute
    events: idp.oidc.prepared): libpq's trace on PostgreSQL, sqlite3's trace callback."""
    if engine.dialect.name == "postgresql":
        with protocol_trace(engine) as lines:
            yield lines
        return
    sent: list[str] = []
    with on_connections(engine, lambda c: c.set_trace_callback(sent.append),
                        lambda c: c.set_trace_callback(None)):
        yield sent


def test_a_successful_token_request_touches_no_throttle_table(rp: Rp, idp: Flask) -> None:
    _fail(rp, LIMIT - 1)  # failures on record, not locked
    rp.login()
    code, verifier = rp.code()
    with sql_sent(services_of(idp).engine) as sent:
        assert rp.exchange(code, verifier).status_code == 200
    assert any("oidc_codes" in line or "oidc_tokens" in line for line in sent)  # seen
    assert [line for line in sent if "failed_attempts" in line] == []
