"""Failed administrator sign-ins are throttled per client address (``throttle.admin_sign_in``):
after the limit of refused passkey answers or enrolment URL guesses in the window, every further
attempt from that address — even with the right passkey or a live URL — is refused with 429 and
Retry-After, each refusal recorded in the audit log; another address is still served."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from idp.app import create_app, services_of
from idp.audit.entries import Entry
from idp.settings import AdminSignInRule, Settings
from tests.support.admin import ORIGIN, add_admin, admin_settings, enrol

LIMIT = 3
ATTACKER = {"REMOTE_ADDR": "203.0.113.5"}
NEIGHBOUR = {"REMOTE_ADDR": "198.51.100.7"}


@pytest.fixture
def app(sqlite_settings: Settings) -> Iterator[Flask]:
    settings = admin_settings(sqlite_settings)
    settings = settings.model_copy(update={"throttle": settings.throttle.model_copy(update={
        "admin_sign_in": AdminSignInRule(limit=LIMIT, window_seconds=600)})})
    application = create_app(settings)
    yield application
    services_of(application).engine.dispose()


def _throttled(app: Flask, action: str) -> list[Entry]:
    return [e for e in services_of(app).audit.entries(action=action, limit=None)
            if e.details.get("why") == "too_many_attempts"]


def test_enrolment_url_guesses_from_one_address_get_429(app: Flask) -> None:
    _admin_id, secret = add_admin(app, "bob", "support")
    browser = app.test_client()
    for guess in range(LIMIT):
        answer = browser.get(f"/admin/api/enrol/guess{guess}", environ_base=ATTACKER)
        assert answer.status_code == 400
        assert answer.get_json()["error"] == "enrolment_invalid"

    refused = browser.get(f"/admin/api/enrol/{secret}", environ_base=ATTACKER)
    assert refused.status_code == 429  # even the live URL, from that address
    assert refused.get_json()["error"] == "too_many_attempts"
    assert 0 < int(refused.headers["Retry-After"]) <= 600
    page = browser.get(f"/admin/enrol/{secret}?lang=en", environ_base=ATTACKER)
    assert page.status_code == 429  # the enrolment page too
    assert "Retry-After" in page.headers
    started = browser.post(f"/admin/api/enrol/{secret}/options", environ_base=ATTACKER)
    assert started.status_code == 429

    assert browser.get(f"/admin/api/enrol/{secret}", environ_base=NEIGHBOUR).status_code == 200
    recorded = _throttled(app, "admin.enrol")
    assert len(recorded) == 3  # one entry per refusal
    assert {(e.actor, e.outcome, e.details["address"]) for e in recorded} == {
        ("anonymous", "refused", "203.0.113.5")}
    assert secret not in json.dumps([e.to_json() for e in recorded])  # never the URL


def _replay(browser: FlaskClient, handle: str, credential: str) -> int:
    return browser.post("/admin/api/session", environ_base=ATTACKER, json={
        "handle": handle, "credential": json.loads(credential)}).status_code


def test_refused_passkey_answers_from_one_address_get_429(app: Flask) -> None:
    admin = enrol(app, "alice", "admin")
    browser = app.test_client()
    started = browser.post("/admin/api/session/options", environ_base=ATTACKER).get_json()
    answer = admin.authenticator.get(json.dumps(started["options"]), origin=ORIGIN)
    assert _replay(browser, started["handle"], answer) == 200
    assert [_replay(browser, started["handle"], answer) for _ in range(LIMIT)] == [401] * LIMIT

    fresh = browser.post("/admin/api/session/options", environ_base=ATTACKER).get_json()
    honest = admin.authenticator.get(json.dumps(fresh["options"]), origin=ORIGIN)
    refused = browser.post("/admin/api/session", environ_base=ATTACKER, json={
        "handle": fresh["handle"], "credential": json.loads(honest)})
    assert refused.status_code == 429  # the right passkey too, until the window ends
    assert refused.headers["Retry-After"].isdigit()
    assert "idp_admin" not in refused.headers.get("Set-Cookie", "")
    [entry] = _throttled(app, "admin.sign_in")
    assert (entry.actor, entry.outcome) == ("anonymous", "refused")

    assert admin.sign_in().status_code == 200  # another address (the test client's own)


def test_the_openapi_document_names_the_429(app: Flask) -> None:
    paths = app.test_client().get("/admin/api/openapi.json").get_json()["paths"]
    assert "Retry-After" in paths["/admin/api/session"]["post"]["responses"]["429"]["headers"]
    assert "429" in paths["/admin/api/enrol/{token}"]["get"]["responses"]
    assert "429" not in paths["/admin/api/clients"]["get"]["responses"]
