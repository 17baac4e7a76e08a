"""Back-channel logout is delivered reliably: written to an outbox in the logout transaction,
retried with backoff on failure, given up (and recorded) after the last attempt."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from flask import Flask
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.app import create_app, services_of
from idp.cli import cli
from idp.oidc import logout_outbox
from idp.oidc.outbox_models import LogoutDelivery
from idp.settings import Settings
from tests.support import schema
from tests.support.http_stub import http_stub
from tests.unit.oidc.conftest import ISSUER, Rp, register

FAIL = (500, b"", 0.0)
OK = (200, b"", 0.0)


@pytest.fixture
def outbox_settings(settings: Settings) -> Settings:
    oidc = settings.oidc.model_copy(update={
        "issuer": ISSUER, "backchannel_timeout_seconds": 0.3, "backchannel_max_attempts": 3,
        "backchannel_retry_seconds": 0.01})
    return settings.model_copy(update={"oidc": oidc})


@pytest.fixture
def outbox_app(outbox_settings: Settings) -> Iterator[Flask]:
    application = create_app(outbox_settings)
    yield application
    services_of(application).engine.dispose()


def log_out(app: Flask, backchannel_uri: str) -> dict[str, str]:
    """A person logs in to an RP and logs out; returns the RP's tokens."""
    client_id, secret = register(app, backchannel_logout_uri=backchannel_uri)
    rp = Rp(app, app.test_client(), client_id, secret)
    rp.login()
    code, verifier = rp.code()
    tokens: dict[str, str] = rp.exchange(code, verifier).get_json()
    assert rp.browser.get("/logout", query_string={"id_token_hint": tokens["id_token"]}) \
        .status_code in (200, 302, 303)
    return tokens


def rows(app: Flask) -> list[LogoutDelivery]:
    with services_of(app).sessions() as db:
        found = db.query(LogoutDelivery).all()
        db.expunge_all()
        return found


def due_now(app: Flask) -> logout_outbox.DeliveryReport:
    time.sleep(0.05)  # past the (tiny) backoff of the test settings
    return logout_outbox.deliver_due(services_of(app).oidc)


def test_an_rp_that_fails_twice_gets_the_logout_on_the_third_attempt(
        outbox_app: Flask) -> None:
    with http_stub(FAIL, FAIL, OK) as rp_endpoint:
        tokens = log_out(outbox_app, rp_endpoint.base_url + "/bc")
        assert [(r.state, r.attempts, r.last_error) for r in rows(outbox_app)] == [
            ("pending", 1, "HTTP 500")]
        assert due_now(outbox_app).retrying  # second attempt: 500 again
        report = due_now(outbox_app)
        sent = [form["logout_token"] for _, form in rp_endpoint.requests]
    [row] = rows(outbox_app)
    assert (row.state, row.attempts, row.last_error) == ("delivered", 3, None)
    assert report.delivered == (row.client_id,)
    keys = KeySet.import_key_set(outbox_app.test_client().get("/jwks").get_json())
    id_token = jwt.decode(tokens["id_token"], keys).claims
    claims = [jwt.decode(token, keys).claims for token in sent]
    assert {(c["sub"], c["sid"], c["aud"]) for c in claims} == {
        (id_token["sub"], id_token["sid"], row.client_id)}
    assert len({c["jti"] for c in claims}) == 3  # signed afresh for every attempt
    assert all(c["exp"] - c["iat"] == 120 and c["iat"] >= time.time() - 60 for c in claims)


def test_an_rp_that_never_answers_is_given_up_and_recorded(outbox_app: Flask) -> None:
    with http_stub((200, b"", 2.0)) as rp_endpoint:
        log_out(outbox_app, rp_endpoint.base_url + "/bc")
        due_now(outbox_app)
        report = due_now(outbox_app)
        assert len(rp_endpoint.requests) == 3
        assert due_now(outbox_app) == logout_outbox.DeliveryReport()  # nothing left to try
    [row] = rows(outbox_app)
    assert (row.state, row.attempts, row.last_error) == ("failed", 3, "ReadTimeout")
    assert row.finished_at is not None
    assert report.failed == (row.client_id,)


def test_an_rp_refusing_the_token_with_400_is_not_retried(outbox_app: Flask) -> None:
    with http_stub((400, b'{"error":"invalid_request"}', 0.0)) as rp_endpoint:
        log_out(outbox_app, rp_endpoint.base_url + "/bc")
        due_now(outbox_app)
        assert len(rp_endpoint.requests) == 1
    assert [(r.state, r.last_error) for r in rows(outbox_app)] == [("failed", "HTTP 400")]


def test_a_row_leased_to_another_sender_is_not_sent_twice(outbox_app: Flask) -> None:
    with http_stub(FAIL, OK) as rp_endpoint:
        log_out(outbox_app, rp_endpoint.base_url + "/bc")
        time.sleep(0.05)
        ctx = services_of(outbox_app).oidc
        [row] = rows(outbox_app)
        now = time.time()
        assert logout_outbox._claim(ctx, row.id, now)  # one sender takes the lease
        assert not logout_outbox._claim(ctx, row.id, now)  # the other finds it taken
        assert logout_outbox.deliver_due(ctx) == logout_outbox.DeliveryReport()
        assert len(rp_endpoint.requests) == 1


def test_the_serve_worker_thread_delivers_due_rows(outbox_app: Flask) -> None:
    with http_stub(FAIL, OK) as rp_endpoint:
        log_out(outbox_app, rp_endpoint.base_url + "/bc")
        worker = logout_outbox.LogoutWorker(services_of(outbox_app).oidc, interval=0.05)
        worker.start()
        try:
            deadline = time.monotonic() + 10
            while rows(outbox_app)[0].state != "delivered" and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            worker.stop()
    assert [(r.state, r.attempts) for r in rows(outbox_app)] == [("delivered", 2)]


def test_idp_logout_deliver_sends_due_rows_for_cron(outbox_app: Flask,
                                                    outbox_settings: Settings) -> None:
    with http_stub(FAIL, OK) as rp_endpoint:
        log_out(outbox_app, rp_endpoint.base_url + "/bc")
        time.sleep(0.05)
        env = {"IDP_VAR_DIR": str(outbox_settings.var_dir),
               "IDP_DATABASE_URL": outbox_settings.database_url,
               "IDP_OIDC__ISSUER": ISSUER}
        result = CliRunner().invoke(cli, ["logout", "deliver", "--json"], env=env)
        assert result.exit_code == 0, result.output
        [row] = rows(outbox_app)
        assert json.loads(result.output) == {"delivered": [row.client_id], "retrying": [],
                                             "failed": []}
        assert urlsplit(rp_endpoint.requests[-1][0]).path == "/bc"
    again = CliRunner().invoke(cli, ["logout", "deliver"], env=env)
    assert again.output.strip() == "delivered 0, will retry 0, gave up 0"


def test_clients_without_a_backchannel_uri_get_no_outbox_row(outbox_app: Flask) -> None:
    client_id, secret = register(outbox_app)
    rp = Rp(outbox_app, outbox_app.test_client(), client_id, secret)
    rp.login()
    code, verifier = rp.code()
    tokens = rp.exchange(code, verifier).get_json()
    rp.browser.get("/logout", query_string={"id_token_hint": tokens["id_token"]})
    assert rows(outbox_app) == []




def test_idp_serve_runs_the_delivery_thread(monkeypatch: pytest.MonkeyPatch,
                                            outbox_settings: Settings) -> None:
    served: list[Flask] = []
    monkeypatch.setattr(Flask, "run", lambda app, **_kwargs: served.append(app))
    env = {"IDP_VAR_DIR": str(outbox_settings.var_dir),
           "IDP_DATABASE_URL": outbox_settings.database_url}
    result = CliRunner().invoke(cli, ["serve", "--dev", "--port", "1"], env=env)
    assert result.exit_code == 0, result.output
    worker = served[0].extensions["idp.logout_worker"]
    assert isinstance(worker, logout_outbox.LogoutWorker)
    worker.stop()
    served[0].extensions["idp.events_worker"].stop()  # its neighbour (tests/unit/events)
    services_of(served[0]).engine.dispose()


def test_migration_0006_matches_the_outbox_model(database_url: str) -> None:
    assert schema.differences(database_url, "logout_outbox") == []
