"""Refused passkey sign-ins and refused card answers are throttled per client address: after
the limit even a good answer gets 429 with Retry-After; stale challenges and genuine cards with
a certificate problem are not counted. On both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete

from idp.accounts.card_answers import CardAnswers
from idp.app import create_app, services_of
from idp.jpki.errors import CertificateExpiredError, WrongDigestError
from idp.passkeys.challenge_store import CHALLENGES
from idp.settings import Settings, ThrottleRule, ThrottleSettings
from tests.support.webauthn_authenticator import SoftAuthenticator
from tests.unit.oidc.conftest import ISSUER, Rp
from tests.unit.web.test_passkey_flow import ORIGIN, FakeChecker, log_out, register_passkey

LIMIT = 2
ELSEWHERE = {"REMOTE_ADDR": "192.0.2.7"}


@pytest.fixture
def idp(settings: Settings) -> Iterator[Flask]:
    rule = ThrottleRule(limit=LIMIT, window_seconds=300)
    app = create_app(settings.model_copy(update={
        "oidc": settings.oidc.model_copy(update={"issuer": ISSUER}),
        "throttle": ThrottleSettings(passkey=rule, card_answer=rule)}), anchors=FakeChecker())
    services_of(app).throttles.passkey.clock = lambda: 1_800_000_060.0
    yield app
    services_of(app).engine.dispose()


@pytest.fixture
def rp(idp: Flask) -> Rp:
    return Rp.registered(idp)


def _passkey_sign_in(rp: Rp, authenticator: SoftAuthenticator, origin: str) -> Any:
    state = rp.interaction(rp.authorize()[0])
    options = rp.act(state, "passkey_options", {}).get_json()["options"]
    assertion = authenticator.get(json.dumps(options), origin=origin)
    return rp.act(state, "passkey_verify", {"credential": assertion})


def test_refused_passkey_assertions_lock_the_address(rp: Rp) -> None:
    authenticator = SoftAuthenticator()
    register_passkey(rp, authenticator)
    log_out(rp)
    for _ in range(LIMIT):
        refused = _passkey_sign_in(rp, authenticator, "https://elsewhere.example")
        assert refused.get_json()["error"] == "passkey_wrong_origin"
    locked = _passkey_sign_in(rp, authenticator, ORIGIN)
    assert (locked.status_code, locked.headers["Retry-After"]) == (429, "240")
    assert locked.get_json()["error"] == "too_many_attempts"
    rp.browser.environ_base.update(ELSEWHERE)  # another address is still served
    assert _passkey_sign_in(rp, authenticator, ORIGIN).status_code == 200


def test_an_unknown_challenge_is_not_counted(idp: Flask, rp: Rp) -> None:
    state = rp.interaction(rp.authorize()[0])  # its face's options hold a challenge...
    with services_of(idp).engine.begin() as connection:  # ...no longer known (a stale page)
        connection.execute(delete(CHALLENGES))
    for _ in range(LIMIT + 1):
        answer = rp.act(state, "passkey_verify", {"credential": {"id": "x"}})
        assert answer.get_json()["error"] == "passkey_challenge_unknown"


def test_refused_card_answers_lock_the_address_but_certificate_problems_do_not(
        idp: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    refusal: list[Exception] = [CertificateExpiredError()]

    def answer(self: CardAnswers, request_id: str, body: Any, *, issuer: str) -> dict[str, Any]:
        raise refusal[0]

    monkeypatch.setattr(CardAnswers, "answer", answer)
    card_app = idp.test_client()
    body = {"certificate": "AA==", "signature": "AA=="}
    for _ in range(LIMIT + 1):  # a real card with an expired certificate: not a guess
        assert card_app.post("/card-requests/r1", json=body).status_code == 403
    refusal[0] = WrongDigestError()
    for _ in range(LIMIT):
        assert card_app.post("/card-requests/r1", json=body).get_json()["error"] == "wrong_digest"
    locked = card_app.post("/card-requests/r1", json=body)
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 300
    elsewhere = card_app.post("/card-requests/r1", json=body, environ_base=ELSEWHERE)
    assert elsewhere.get_json()["error"] == "wrong_digest"
