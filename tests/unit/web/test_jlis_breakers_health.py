"""The card steps' J-LIS client sits behind the per-service breakers, and ``GET /healthz`` shows
their states while ``status`` stays "ok" (the IdP serves passkeys and tokens without J-LIS)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from flask import Flask

from idp.app import create_app, services_of
from idp.jlis import JlisUnavailableError
from idp.settings import Settings


def _refusing_url() -> str:
    """A loopback port nobody listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def app(sqlite_settings: Settings) -> Iterator[Flask]:
    settings = sqlite_settings.model_copy(update={"jlis": sqlite_settings.jlis.model_copy(
        update={"url": _refusing_url(), "api_key": "key", "breaker_failure_threshold": 2})})
    application = create_app(settings)
    yield application
    services_of(application).engine.dispose()


def test_healthz_lists_no_breaker_before_a_card_step_needed_j_lis(app: Flask) -> None:
    assert app.test_client().get("/healthz").get_json() == {"status": "ok", "jlis": {}}


def test_healthz_shows_an_open_ocsp_breaker_and_stays_ok(app: Flask) -> None:
    jlis = services_of(app).trust.get().jlis
    for _ in range(2):
        with pytest.raises(JlisUnavailableError, match="unreachable"):
            jlis.ocsp(b"request")
    with pytest.raises(JlisUnavailableError, match="not answering"):
        jlis.ocsp(b"request")
    answer = app.test_client().get("/healthz")
    assert answer.status_code == 200
    assert answer.get_json() == {"status": "ok", "jlis": {
        "ocsp": "open", "crl": "closed", "links": "closed", "basic4": "closed",
        "age": "closed", "metering": "closed"}}
