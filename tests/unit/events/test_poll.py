"""Poll delivery (RFC 8936): the receiver is served its SETs oldest first, acknowledges them or
reports errors, is served again what it did not acknowledge, and learns when more wait."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask

from idp.events.vocabulary import ASSURANCE_LEVEL_CHANGE, CREDENTIAL_CHANGE, VERIFICATION
from tests.support.ssf_receiver import verify
from tests.unit.events.conftest import Receiver, jwks, record
from tests.unit.events.test_emitter import _move, owed
from tests.unit.oidc.conftest import ISSUER


def _poll(bank: Receiver, stream_id: str, **body: Any) -> dict[str, Any]:
    response = bank.call("POST", f"/ssf/poll/{stream_id}", body)
    assert response.status_code == 200, response.get_data(as_text=True)
    found: dict[str, Any] = response.get_json()
    return found


def _types(app: Flask, bank: Receiver, sets: dict[str, str]) -> set[str]:
    """The event types served (``sets`` is a JSON object: keyed by jti, in no order)."""
    claims = [verify(token, jwks(app), issuer=ISSUER, audience=bank.client_id)
              for token in sets.values()]
    assert [c["jti"] for c in claims] == list(sets)
    return {next(iter(c["events"])) for c in claims}


def test_a_receiver_polls_acknowledges_and_is_not_served_twice(
        app: Flask, bank: Receiver) -> None:
    private_id = bank.consented_person()
    stream_id = bank.create()["stream_id"]
    bank.call("POST", "/ssf/verify", {"stream_id": stream_id, "state": "poll-state"})
    record(app, _move(private_id))
    first = _poll(bank, stream_id, maxEvents=2)
    assert first["moreAvailable"] is True
    assert _types(app, bank, first["sets"]) == {VERIFICATION, CREDENTIAL_CHANGE}  # oldest
    second = _poll(bank, stream_id, ack=list(first["sets"]))
    assert (_types(app, bank, second["sets"]), second["moreAvailable"]) == (
        {ASSURANCE_LEVEL_CHANGE}, False)
    assert _poll(bank, stream_id, ack=list(second["sets"]), maxEvents=0) == {
        "sets": {}, "moreAvailable": False}
    assert {row.state for row in owed(app)} == {"delivered"}


def test_what_is_not_acknowledged_is_served_again_and_errors_are_recorded(
        app: Flask, bank: Receiver) -> None:
    private_id = bank.consented_person()
    stream_id = bank.create(events_requested=[CREDENTIAL_CHANGE])["stream_id"]
    record(app, _move(private_id))
    [jti] = _poll(bank, stream_id)["sets"]
    assert _poll(bank, stream_id)["sets"] == {}  # served, not yet due again
    time.sleep(1.1)  # poll_redelivery_seconds in the test settings
    assert list(_poll(bank, stream_id)["sets"]) == [jti]
    _poll(bank, stream_id, setErrs={jti: {"err": "invalid_key", "description": "rotated"}})
    [row] = owed(app)
    assert (row.state, row.last_error, row.attempts) == (
        "failed", "invalid_key: rotated", 2)


def test_bad_poll_requests_and_push_streams_are_refused(app: Flask, bank: Receiver) -> None:
    stream_id = bank.create()["stream_id"]
    for body in ({"maxEvents": -1}, {"ack": "jti"}, {"setErrs": {"j": "bad"}},
                 {"returnImmediately": "yes"}, ["not", "an", "object"]):
        refused = bank.call("POST", f"/ssf/poll/{stream_id}", body)
        assert (refused.status_code, refused.get_json()["error"]) == (400, "invalid_request")
    assert bank.call("POST", "/ssf/poll/nope", {}).status_code == 404
    bank.call("PUT", "/ssf/stream", {"stream_id": stream_id, "delivery": {
        "method": "urn:ietf:rfc:8935", "endpoint_url": "https://rp.example/events"}})
    refused = bank.call("POST", f"/ssf/poll/{stream_id}", {})
    assert "delivers by push" in refused.get_json()["error_description"]
