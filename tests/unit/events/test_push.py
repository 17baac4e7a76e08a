"""Push delivery (RFC 8935) to a real receiver on loopback, which checks every SET with the
published JWKS: the verification event with the receiver's state, events in the order owed,
the receiver's authorization header, retries with backoff while it fails, nothing retried that
it refused, and nothing sent once the person withdrew their consent."""

from __future__ import annotations

import base64
import json
import time

import pytest
from click.testing import CliRunner
from flask import Flask

from idp.app import services_of
from idp.cli import cli
from idp.events import push
from idp.events.vocabulary import ASSURANCE_LEVEL_CHANGE, CREDENTIAL_CHANGE, VERIFICATION
from idp.oidc import consent
from idp.settings import Settings
from tests.support import schema
from tests.support.ssf_receiver import OK, ssf_receiver
from tests.unit.events.conftest import Receiver, jwks, record
from tests.unit.events.test_emitter import _move, owed
from tests.unit.oidc.conftest import ISSUER

FAIL = (503, b"", 0.0)
REFUSED = (400, b'{"err": "invalid_audience", "description": "not for us"}', 0.0)


def _deliver(app: Flask) -> push.DeliveryReport:
    time.sleep(0.03)  # past the test settings' backoff
    return push.deliver_due(services_of(app).events)


def test_the_receiver_gets_the_verification_event_then_its_subjects_events_in_order(
        app: Flask, bank: Receiver) -> None:
    private_id = bank.consented_person()
    with ssf_receiver() as receiver:
        stream_id = bank.create(delivery={"method": "urn:ietf:rfc:8935",
                                          "endpoint_url": receiver.url,
                                          "authorization_header": "Bearer rp-secret"})["stream_id"]
        assert bank.call("POST", "/ssf/verify", {"stream_id": stream_id,
                                                 "state": "s-42"}).status_code == 204
        record(app, _move(private_id))
        assert _deliver(app).delivered == 3
        sets = receiver.events(jwks(app), issuer=ISSUER, audience=bank.client_id)
    assert [next(iter(claims["events"])) for claims in sets] == [
        VERIFICATION, CREDENTIAL_CHANGE, ASSURANCE_LEVEL_CHANGE]
    assert sets[0]["events"][VERIFICATION] == {"state": "s-42"}
    assert sets[0]["sub_id"] == {"format": "opaque", "id": stream_id}
    assert all(p.headers["Authorization"] == "Bearer rp-secret" for p in receiver.pushes)
    assert all(p.headers["Content-Type"] == "application/secevent+jwt" for p in receiver.pushes)
    assert {row.state for row in owed(app)} == {"delivered"}


def test_a_receiver_that_fails_at_first_gets_the_event_on_a_later_attempt(
        app: Flask, bank: Receiver) -> None:
    private_id = bank.consented_person()
    with ssf_receiver(FAIL, FAIL, OK) as receiver:
        bank.create(delivery={"method": "urn:ietf:rfc:8935", "endpoint_url": receiver.url},
                    events_requested=[CREDENTIAL_CHANGE])
        record(app, _move(private_id))
        first = _deliver(app)
        assert (first.delivered, len(first.retrying)) == (0, 1)
        assert _deliver(app).delivered == 0  # 503 again: the stream waits twice as long
        report = _deliver(app)
        assert report.delivered == 1
        tokens = [p.token for p in receiver.pushes]
    [row] = owed(app)
    assert (row.state, row.attempts) == ("delivered", 3)
    claims = [json.loads(base64.urlsafe_b64decode(t.split(".")[1] + "===")) for t in tokens]
    assert len({c["jti"] for c in claims}) == 1  # the same SET each time, signed anew


def test_a_receiver_that_refuses_a_set_is_not_asked_again_and_the_next_one_goes(
        app: Flask, bank: Receiver) -> None:
    private_id = bank.consented_person()
    with ssf_receiver(REFUSED, OK) as receiver:
        bank.create(delivery={"method": "urn:ietf:rfc:8935", "endpoint_url": receiver.url})
        record(app, _move(private_id))
        report = _deliver(app)
    assert (report.delivered, report.failed) == (1, 1)
    refused, delivered = owed(app)
    assert (refused.state, refused.last_error) == (
        "failed", "HTTP 400 invalid_audience: not for us")
    assert delivered.state == "delivered"
    assert len(receiver.pushes) == 2


def test_a_receiver_that_never_answers_in_time_is_given_up_after_the_last_attempt(
        app: Flask, bank: Receiver) -> None:
    private_id = bank.consented_person()
    with ssf_receiver((202, b"", 1.0)) as receiver:  # slower than the 0.5 s timeout
        bank.create(delivery={"method": "urn:ietf:rfc:8935", "endpoint_url": receiver.url},
                    events_requested=[CREDENTIAL_CHANGE])
        record(app, _move(private_id))
        started = time.monotonic()
        for _ in range(3):
            _deliver(app)
        assert time.monotonic() - started < 3 * (0.5 + 0.5)
    [row] = owed(app)
    assert (row.state, row.attempts, row.last_error) == ("failed", 3, "ReadTimeout")


def test_events_owed_before_consent_was_withdrawn_are_dropped_unsent(
        app: Flask, bank: Receiver) -> None:
    private_id = bank.consented_person()
    with ssf_receiver() as receiver:
        bank.create(delivery={"method": "urn:ietf:rfc:8935", "endpoint_url": receiver.url})
        record(app, _move(private_id))
        assert consent.withdraw(services_of(app).oidc, private_id, bank.client_id)
        _deliver(app)
    assert receiver.pushes == []
    assert {(row.state, row.last_error) for row in owed(app)} == {
        ("dropped", "consent withdrawn")}


def test_a_paused_stream_holds_its_events_until_enabled(app: Flask, bank: Receiver) -> None:
    private_id = bank.consented_person()
    with ssf_receiver() as receiver:
        stream_id = bank.create(delivery={"method": "urn:ietf:rfc:8935",
                                          "endpoint_url": receiver.url})["stream_id"]
        paused = bank.call("POST", "/ssf/status", {"stream_id": stream_id, "status": "paused",
                                                   "reason": "maintenance"})
        assert paused.get_json() == {"stream_id": stream_id, "status": "paused",
                                     "reason": "maintenance"}
        record(app, _move(private_id))
        _deliver(app)
        assert receiver.pushes == []
        bank.call("POST", "/ssf/status", {"stream_id": stream_id, "status": "enabled"})
        assert _deliver(app).delivered == 2


def test_idp_events_deliver_sends_what_is_due_for_cron(app: Flask, bank: Receiver) -> None:
    private_id = bank.consented_person()
    with ssf_receiver() as receiver:
        bank.create(delivery={"method": "urn:ietf:rfc:8935", "endpoint_url": receiver.url})
        record(app, _move(private_id))
        settings = services_of(app).settings
        result = CliRunner().invoke(cli, ["events", "deliver", "--json"], env={
            "IDP_VAR_DIR": str(settings.var_dir), "IDP_DATABASE_URL": settings.database_url,
            "IDP_OIDC__ISSUER": ISSUER})
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"delivered": 2, "failed": 0, "retrying": []}
    assert len(receiver.accepted()) == 2


def test_idp_serve_runs_the_events_delivery_thread(monkeypatch: pytest.MonkeyPatch,
                                                   settings: Settings) -> None:
    served: list[Flask] = []
    monkeypatch.setattr(Flask, "run", lambda app, **_kwargs: served.append(app))
    env = {"IDP_VAR_DIR": str(settings.var_dir), "IDP_DATABASE_URL": settings.database_url}
    result = CliRunner().invoke(cli, ["serve", "--dev", "--port", "1"], env=env)
    assert result.exit_code == 0, result.output
    worker = served[0].extensions["idp.events_worker"]
    assert isinstance(worker, push.EventsWorker)
    worker.stop()
    served[0].extensions["idp.logout_worker"].stop()
    services_of(served[0]).engine.dispose()


def test_migration_0010_matches_the_events_models(database_url: str) -> None:
    for table in ("ssf_streams", "ssf_removed_subjects", "ssf_events"):
        assert schema.differences(database_url, table) == []
