"""A relying party manages its own stream with its client-credentials token (SSF §8.1.1): it
creates, reads, updates, replaces and deletes it; what it may not do is refused with a clear
4xx, and no relying party ever sees another's stream."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from idp.app import services_of
from idp.events.vocabulary import ACCOUNT_DISABLED, CREDENTIAL_CHANGE, SUPPORTED
from tests.unit.events.conftest import Receiver, receiver_of
from tests.unit.oidc.conftest import ISSUER

PUSH, POLL = "urn:ietf:rfc:8935", "urn:ietf:rfc:8936"
ENDPOINT = "https://rp.example/ssf/events"


def _push(url: str = ENDPOINT, **extra: Any) -> dict[str, Any]:
    return {"method": PUSH, "endpoint_url": url, **extra}


def test_a_push_stream_is_created_with_the_events_asked_for_that_are_supported(
        bank: Receiver) -> None:
    unknown = "https://schemas.example/unknown-event"
    created = bank.create(delivery=_push(authorization_header="Bearer rp-secret"),
                          events_requested=[CREDENTIAL_CHANGE, unknown], description="bank")
    assert created["iss"] == ISSUER
    assert created["aud"] == bank.client_id
    assert created["events_supported"] == list(SUPPORTED)
    assert created["events_requested"] == [CREDENTIAL_CHANGE, unknown]
    assert created["events_delivered"] == [CREDENTIAL_CHANGE]  # what will be delivered
    assert created["delivery"] == _push(authorization_header="Bearer rp-secret")
    assert created["min_verification_interval"] == 0
    assert bank.call("GET", "/ssf/stream", stream_id=created["stream_id"]).get_json() == created
    assert bank.call("GET", "/ssf/stream").get_json() == [created]


def test_a_stream_without_delivery_is_polled_at_its_own_endpoint(bank: Receiver) -> None:
    created = bank.create()
    assert created["delivery"] == {
        "method": POLL, "endpoint_url": f"{ISSUER}/ssf/poll/{created['stream_id']}"}
    assert created["events_delivered"] == list(SUPPORTED)
    assert "events_requested" not in created


def test_update_keeps_what_it_leaves_out_and_replace_resets_it(bank: Receiver) -> None:
    created = bank.create(delivery=_push(), events_requested=[CREDENTIAL_CHANGE],
                          description="first")
    stream_id = created["stream_id"]
    updated = bank.call("PATCH", "/ssf/stream", {
        "stream_id": stream_id, "events_requested": [ACCOUNT_DISABLED],
        "events_delivered": [CREDENTIAL_CHANGE]}).get_json()  # as shown before the update
    assert (updated["events_delivered"], updated["description"]) == ([ACCOUNT_DISABLED], "first")
    assert updated["delivery"] == _push()
    replaced = bank.call("PUT", "/ssf/stream", {"stream_id": stream_id}).get_json()
    assert replaced["delivery"]["method"] == POLL
    assert replaced["events_delivered"] == list(SUPPORTED)
    assert "description" not in replaced


def test_delete_removes_the_stream(bank: Receiver) -> None:
    stream_id = bank.create()["stream_id"]
    assert bank.call("DELETE", "/ssf/stream", stream_id=stream_id).status_code == 204
    assert bank.call("GET", "/ssf/stream", stream_id=stream_id).status_code == 404
    assert bank.call("GET", "/ssf/stream").get_json() == []


def test_a_receiver_has_one_stream(bank: Receiver) -> None:
    bank.create()
    second = bank.call("POST", "/ssf/stream", {})
    assert (second.status_code, second.get_json()["error"]) == (409, "stream_exists")


def test_another_relying_partys_stream_is_unknown_to_it(app: Flask, bank: Receiver) -> None:
    stream_id = bank.create()["stream_id"]
    shop = receiver_of(app, "Shop")
    for method, body, query in (("GET", None, {"stream_id": stream_id}),
                                ("PATCH", {"stream_id": stream_id}, {}),
                                ("DELETE", None, {"stream_id": stream_id})):
        refused = shop.call(method, "/ssf/stream", body, **query)
        assert (refused.status_code, refused.get_json()["error"]) == (404, "not_found")
    assert shop.call("GET", "/ssf/status", stream_id=stream_id).status_code == 404
    assert shop.call("POST", "/ssf/verify", {"stream_id": stream_id}).status_code == 404
    assert shop.call("GET", "/ssf/stream").get_json() == []
    assert bank.call("GET", "/ssf/stream", stream_id=stream_id).status_code == 200


@pytest.mark.parametrize(("config", "why"), [
    ({"delivery": {"method": "urn:example:smoke-signals"}}, "not supported"),
    ({"delivery": _push("http://rp.example/events")}, "must use https"),
    ({"delivery": _push("https://rp.example/events#frag")}, "without a fragment"),
    ({"delivery": {"method": PUSH}}, "endpoint_url"),
    ({"delivery": {"method": POLL, "endpoint_url": "https://rp.example/poll"}},
     "transmitter sets endpoint_url"),
    ({"events_requested": []}, "must not be empty"),
    ({"events_requested": "all"}, "array"),
    ({"stream_id": "mine"}, "set by the transmitter"),
    ({"iss": "https://other.example"}, "set by the transmitter"),
])
def test_a_stream_the_transmitter_cannot_serve_is_refused_with_the_reason(
        bank: Receiver, config: dict[str, Any], why: str) -> None:
    if "iss" in config:  # an update repeating a transmitter-supplied member wrongly
        config = {**config, "stream_id": bank.create()["stream_id"]}
        refused = bank.call("PATCH", "/ssf/stream", config)
    else:
        refused = bank.call("POST", "/ssf/stream", config)
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_request"
    assert why in refused.get_json()["error_description"]


def test_http_loopback_endpoints_are_for_development_only(app: Flask, bank: Receiver) -> None:
    assert bank.call("POST", "/ssf/stream", {"delivery": _push(
        "http://127.0.0.1:9/events")}).status_code == 201  # the test settings allow it
    events = services_of(app).settings.events.model_copy(update={"allow_http_loopback": False})
    ctx = services_of(app).events
    from idp.events.config import push_endpoint
    from idp.events.context import EventsContext
    from idp.events.errors import EventsError

    with pytest.raises(EventsError, match="https"):
        push_endpoint(EventsContext(events, ctx.oidc), "http://127.0.0.1:9/events")
    with pytest.raises(EventsError, match="https"):
        push_endpoint(ctx, "http://rp.example/events")  # not loopback, even in development


def test_malformed_json_is_refused(bank: Receiver) -> None:
    refused = bank.http.post("/ssf/stream", data="{not json",
                             headers={"Authorization": f"Bearer {bank.token}",
                                      "Content-Type": "application/json"})
    assert (refused.status_code, refused.get_json()["error"]) == (400, "invalid_request")
    assert bank.call("POST", "/ssf/stream", ["a", "list"]).status_code == 400


def test_without_a_valid_ssf_token_nothing_is_shown(app: Flask, bank: Receiver) -> None:
    client = app.test_client()
    missing = client.get("/ssf/stream")
    assert (missing.status_code, missing.get_json()["error"]) == (401, "invalid_token")
    assert missing.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    forged = client.get("/ssf/stream", headers={"Authorization": f"Bearer {bank.token}x"})
    assert forged.status_code == 401
    # a person's access token for the same client is not a client-credentials token
    bank.rp.login()
    code, verifier = bank.rp.code()
    person = bank.rp.exchange(code, verifier).get_json()["access_token"]
    assert client.get("/ssf/stream", headers={
        "Authorization": f"Bearer {person}"}).status_code == 401
