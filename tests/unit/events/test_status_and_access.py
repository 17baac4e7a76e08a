"""Stream status (SSF §8.1.2), the transmitter's own status changes announced by a
stream-updated event (§8.1.5), verification at most as often as announced, subjects refused
when they are not iss_sub of this issuer, and tokens without the scope ssf."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask

from idp.app import services_of
from idp.events import access, streams
from idp.events.errors import InsufficientScopeError
from idp.events.vocabulary import STREAM_UPDATED
from idp.settings import Settings
from tests.support.ssf_receiver import verify
from tests.unit.events.conftest import Receiver, jwks, make_app, receiver_of, record
from tests.unit.events.test_emitter import _move, owed
from tests.unit.events.test_poll import _poll
from tests.unit.oidc.conftest import ISSUER


def test_status_is_read_and_set_and_a_bad_status_refused(bank: Receiver) -> None:
    stream_id = bank.create()["stream_id"]
    assert bank.call("GET", "/ssf/status", stream_id=stream_id).get_json() == {
        "stream_id": stream_id, "status": "enabled"}
    refused = bank.call("POST", "/ssf/status", {"stream_id": stream_id, "status": "asleep"})
    assert refused.status_code == 400
    assert bank.call("GET", "/ssf/status").status_code == 400  # no stream_id


def test_disabling_drops_what_was_owed(app: Flask, bank: Receiver) -> None:
    private_id = bank.consented_person()
    stream_id = bank.create()["stream_id"]
    record(app, _move(private_id))
    bank.call("POST", "/ssf/status", {"stream_id": stream_id, "status": "disabled"})
    assert {(row.state, row.last_error) for row in owed(app)} == {
        ("dropped", "stream disabled")}


def test_the_transmitter_announces_its_pause_and_holds_the_rest(
        app: Flask, bank: Receiver) -> None:
    private_id = bank.consented_person()
    stream_id = bank.create()["stream_id"]
    streams.set_by_transmitter(services_of(app).events, stream_id, "paused", "maintenance")
    record(app, _move(private_id))
    served = _poll(bank, stream_id)
    assert next(row.event_type for row in owed(app)) == STREAM_UPDATED
    [token] = served["sets"].values()  # the pause's announcement; the move is held
    claims = verify(token, jwks(app), issuer=ISSUER, audience=bank.client_id)
    assert claims["events"] == {STREAM_UPDATED: {"status": "paused", "reason": "maintenance"}}
    assert claims["sub_id"] == {"format": "opaque", "id": stream_id}


@pytest.fixture
def strict_app(settings: Settings) -> Iterator[Flask]:
    application = make_app(settings, min_verification_interval_seconds=30)
    yield application
    services_of(application).engine.dispose()


def test_verification_is_refused_when_asked_too_often(strict_app: Flask) -> None:
    bank = receiver_of(strict_app)
    stream_id = bank.create()["stream_id"]
    assert bank.call("POST", "/ssf/verify", {"stream_id": stream_id}).status_code == 204
    again = bank.call("POST", "/ssf/verify", {"stream_id": stream_id})
    assert (again.status_code, again.get_json()["error"]) == (429, "too_many_requests")
    assert 0 < int(again.headers["Retry-After"]) <= 30
    assert bank.call("POST", "/ssf/verify", {"stream_id": stream_id,
                                             "state": 5}).status_code == 400


@pytest.mark.parametrize("subject", [
    {"format": "email", "email": "taro@example.jp"},
    {"format": "iss_sub", "iss": "https://other.example", "sub": "x"},
    {"format": "iss_sub", "iss": ISSUER}, "iss_sub"])
def test_subjects_other_than_this_issuers_iss_sub_are_refused(
        bank: Receiver, subject: object) -> None:
    stream_id = bank.create()["stream_id"]
    for path in ("/ssf/subjects:add", "/ssf/subjects:remove"):
        refused = bank.call("POST", path, {"stream_id": stream_id, "subject": subject})
        assert (refused.status_code, refused.get_json()["error"]) == (400, "invalid_request")


def test_an_unknown_subject_is_answered_like_a_known_one(bank: Receiver) -> None:
    stream_id = bank.create()["stream_id"]
    unknown = {"format": "iss_sub", "iss": ISSUER, "sub": "nobody-we-know"}
    assert bank.call("POST", "/ssf/subjects:add", {"stream_id": stream_id,
                                                   "subject": unknown}).status_code == 200
    assert bank.call("POST", "/ssf/subjects:remove", {"stream_id": stream_id,
                                                      "subject": unknown}).status_code == 204
    assert bank.call("POST", "/ssf/subjects:remove", {"stream_id": stream_id,
                                                      "subject": unknown}).status_code == 204


def test_a_token_without_the_ssf_scope_is_refused_with_insufficient_scope(
        app: Flask, bank: Receiver) -> None:
    ctx = services_of(app).events
    now = int(time.time())
    token = ctx.keys.sign({"iss": ISSUER, "sub": bank.client_id, "client_id": bank.client_id,
                           "aud": ISSUER, "iat": now, "exp": now + 60, "scope": "openid"},
                          "ES256", typ="at+jwt")
    with pytest.raises(InsufficientScopeError):
        access.receiver(ctx, f"Bearer {token}")
    refused = app.test_client().get("/ssf/stream", headers={"Authorization": f"Bearer {token}"})
    assert (refused.status_code, refused.headers["WWW-Authenticate"]) == (
        403, 'Bearer error="insufficient_scope"')
