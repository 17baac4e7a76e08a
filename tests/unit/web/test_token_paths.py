"""POST /token has two adapters (the fast path for form posts, the Flask route for the rest);
every refusal is answered alike by both, because both answer through one renderer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from idp.app import create_app, services_of
from idp.settings import Settings, ThrottleRule, ThrottleSettings
from tests.unit.oidc.conftest import ISSUER, REDIRECT, register

COMPARED_HEADERS = ("Content-Type", "Cache-Control", "Pragma", "WWW-Authenticate", "Retry-After",
                    "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options",
                    "Content-Security-Policy")


@pytest.fixture
def idp(sqlite_settings: Settings) -> Iterator[Flask]:
    app = create_app(sqlite_settings.model_copy(update={
        "oidc": sqlite_settings.oidc.model_copy(update={"issuer": ISSUER}),
        "throttle": ThrottleSettings(client_auth=ThrottleRule(limit=1, window_seconds=300))}))
    yield app
    services_of(app).engine.dispose()


def _both(browser: FlaskClient, form: dict[str, str], **options: Any) -> list[Any]:
    """The same request through the fast path (urlencoded) and the Flask route (multipart)."""
    fast = browser.post("/token", data=form, **options)
    flask_route = browser.post("/token", data=form, content_type="multipart/form-data",
                               **options)
    return [fast, flask_route]


def _seen(answer: Any) -> tuple[int, Any, dict[str, str | None]]:
    return (answer.status_code, answer.get_json(),
            {name: answer.headers.get(name) for name in COMPARED_HEADERS})


REFUSALS = {
    "unsupported_grant_type": {"grant_type": "password", "username": "u", "password": "p"},
    "no_grant_type": {},
    "unknown_code": {"grant_type": "authorization_code", "code": "nope", "code_verifier": "v" * 43,
                     "redirect_uri": REDIRECT},
    "unknown_refresh_token": {"grant_type": "refresh_token", "refresh_token": "nope"},
}


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_both_paths_refuse_a_grant_alike(idp: Flask, case: str, language: str) -> None:
    client_id, secret = register(idp)
    answers = _both(idp.test_client(), REFUSALS[case], auth=(client_id, secret or ""),
                    headers={"Accept-Language": language})
    fast, flask_route = (_seen(answer) for answer in answers)
    assert fast == flask_route
    assert 400 <= fast[0] < 500
    assert fast[2]["Cache-Control"] == "no-store"
    assert fast[2]["X-Content-Type-Options"] == "nosniff"
    assert fast[2]["Referrer-Policy"] == "no-referrer"


def test_both_paths_refuse_a_wrong_secret_alike_with_a_basic_challenge(idp: Flask) -> None:
    browser = idp.test_client()
    first, second = register(idp)[0], register(idp)[0]  # one failure each: neither is locked
    fast = _seen(browser.post("/token", data=REFUSALS["unknown_code"], auth=(first, "wrong")))
    flask_route = _seen(browser.post("/token", data=REFUSALS["unknown_code"],
                                     content_type="multipart/form-data", auth=(second, "wrong")))
    assert fast[:2] == flask_route[:2]
    assert fast[2]["WWW-Authenticate"] == flask_route[2]["WWW-Authenticate"] == \
        'Basic realm="idp"'
    assert fast[1]["error"] == "invalid_client"


def test_both_paths_answer_a_locked_client_alike(idp: Flask) -> None:
    """The probe of the review (2026-12-seams §2c): after the lock, the same failing request
    answered 429 in English with no-store on one path, in Japanese without it on the other."""
    client_id, _ = register(idp)
    browser = idp.test_client()
    browser.post("/token", data=REFUSALS["unknown_code"], auth=(client_id, "wrong"))  # locks
    fast, flask_route = (_seen(a) for a in _both(browser, REFUSALS["unknown_code"],
                                                  auth=(client_id, "wrong")))
    assert fast == flask_route
    assert fast[0] == 429
    assert fast[1]["error"] == "too_many_attempts"
    assert fast[2]["Retry-After"]
    assert fast[2]["Cache-Control"] == "no-store"
