"""Security Event Token deliveries in the audit log: pushed, refused, by jti and stream, never
the SET itself nor the receiver's authorization header."""

from __future__ import annotations

import time

from flask import Flask

from idp.app import services_of
from idp.events import push
from tests.support.ssf_receiver import OK, ssf_receiver
from tests.unit.events.conftest import Receiver, app, bank, record
from tests.unit.events.test_emitter import _move, owed

__all__ = ["app", "bank"]  # the fixtures
REFUSED = (400, b'{"err": "invalid_audience", "description": "not for us"}', 0.0)


def test_pushed_and_refused_sets_are_audited_by_jti(app: Flask, bank: Receiver) -> None:
    private_id = bank.consented_person()
    with ssf_receiver(REFUSED, OK) as receiver:
        stream_id = bank.create(delivery={"method": "urn:ietf:rfc:8935",
                                          "endpoint_url": receiver.url,
                                          "authorization_header": "Bearer rp-secret"})[
            "stream_id"]
        record(app, _move(private_id))
        time.sleep(0.03)
        push.deliver_due(services_of(app).events)
        tokens = [p.token for p in receiver.pushes]
    refused, delivered = owed(app)
    entries = services_of(app).audit.entries(action="event.delivered")
    assert [(e.outcome, e.details["jti"]) for e in entries] == [
        ("failed", [refused.jti]), ("delivered", [delivered.jti])]
    assert {(e.actor, e.target) for e in entries} == {("system", f"stream:{stream_id}")}
    assert entries[0].details["error"] == "HTTP 400 invalid_audience: not for us"
    exported = str([e.to_json() for e in entries])
    assert "rp-secret" not in exported
    assert all(token not in exported for token in tokens)
