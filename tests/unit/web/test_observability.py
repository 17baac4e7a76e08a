"""What an operator sees of each request: ``/metrics`` in the Prometheus text format (behind its
token when one is set), the request id answered as ``X-Request-Id`` and written in the request's
JSON log line, and the admin page's metering fragment."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from idp import db, logs, metering
from idp.app import create_app, services_of
from idp.jpki.profile import Purpose
from idp.jpki.revocation import build_index
from idp.jpki.revocation.crl import anchor_key_id
from idp.metering import Meter
from idp.oidc.outbox_models import LogoutDelivery
from idp.settings import Settings
from idp.settings_ops import LoggingSettings
from idp.web.metering import fragment
from idp.web.observe import LOGIN_ENDPOINTS
from tests.support import jpki_pki as pki
from tests.unit.oidc.conftest import REDIRECT, Rp, register

FAMILIES = {"idp_logins", "idp_card_requests", "idp_jlis_call_seconds", "idp_jlis_breaker_state",
            "idp_validity_checks", "idp_token_requests", "idp_http_requests",
            "idp_audit_write_seconds", "idp_metering_failures", "idp_logout_backlog",
            "idp_events_backlog", "idp_crl_age_seconds", "idp_crl_next_update_seconds"}


def _scrape(app: Flask, **headers: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    answer = app.test_client().get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "text/plain"
    return {family.name: [(s.name, s.labels, s.value) for s in family.samples]
            for family in text_string_to_metric_families(answer.get_data(as_text=True))}


def _value(scraped: dict[str, list[tuple[str, dict[str, str], float]]], sample: str,
           **labels: str) -> float:
    family = sample.removesuffix("_total")
    return sum(value for name, found, value in scraped.get(family, [])
               if name == sample and labels.items() <= found.items())


def _token_form(rp: Rp) -> dict[str, str]:
    code, verifier = rp.code()
    return {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": REDIRECT}


@pytest.fixture
def request_lines() -> Iterator[io.StringIO]:
    """The ``idp.request`` log lines, as ``idp serve`` writes them (JSON)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("idp.request")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield out
    logger.removeHandler(handler)
    logger.setLevel(level)


def _lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_metrics_parse_as_prometheus_text_and_have_every_family(rp: Rp) -> None:
    rp.login()
    assert rp.token(**_token_form(rp)).status_code == 200
    scraped = _scrape(rp.app)
    assert scraped.keys() >= FAMILIES
    assert _value(scraped, "idp_token_requests_total", grant="authorization_code",
                  outcome="ok") >= 1
    assert _value(scraped, "idp_http_requests_total", method="POST", status="200") >= 1


def test_the_counted_sign_in_endpoints_exist(app: Flask) -> None:
    assert set(LOGIN_ENDPOINTS) <= set(app.view_functions)


def test_token_requests_are_counted_by_grant_and_outcome(rp: Rp) -> None:
    before = _scrape(rp.app)
    rp.token(grant_type="authorization_code", code="nope", redirect_uri=REDIRECT,
             code_verifier="x" * 43)
    rp.token(grant_type="made-up-grant")
    after = _scrape(rp.app)
    for grant, outcome in (("authorization_code", "invalid_grant"),
                           ("other", "unsupported_grant_type")):
        assert _value(after, "idp_token_requests_total", grant=grant, outcome=outcome) == \
            _value(before, "idp_token_requests_total", grant=grant, outcome=outcome) + 1


def test_backlogs_and_crl_age_are_read_at_scrape_time(rp: Rp) -> None:
    services = services_of(rp.app)
    now = int(time.time())
    with db.transaction(services.sessions) as session:
        for n in range(2):
            session.add(LogoutDelivery(id=f"d{n}", client_id=rp.client_id,
                                       uri="https://rp.example/bcl", sub="s", sid=None,
                                       state="pending", attempts=0, next_attempt_at=now,
                                       created_at=now))
    ca = pki.ca(Purpose.SIGN)
    this_update = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    directory = services.settings.crl_cache_dir
    directory.mkdir(parents=True, exist_ok=True)
    key_id = anchor_key_id(ca.certificate)
    build_index(pki.crl(ca, [], this_update=this_update, next_update=this_update
                        + timedelta(hours=24)), ca.certificate,
                directory / f"{key_id.hex()}.idx", now=datetime.now(UTC))
    scraped = _scrape(rp.app)
    assert _value(scraped, "idp_logout_backlog") == 2
    assert _value(scraped, "idp_events_backlog") == 0
    assert _value(scraped, "idp_crl_age_seconds", ca=key_id.hex()) == pytest.approx(7200, abs=60)
    assert _value(scraped, "idp_crl_next_update_seconds", ca=key_id.hex()) == \
        pytest.approx(22 * 3600, abs=60)


@pytest.fixture
def guarded(sqlite_settings: Settings) -> Iterator[Flask]:
    app = create_app(sqlite_settings.model_copy(update={
        "metrics": sqlite_settings.metrics.model_copy(update={"token": "s3cret-scrape"})}))
    yield app
    services_of(app).engine.dispose()


def test_with_a_metrics_token_only_its_bearer_may_scrape(guarded: Flask) -> None:
    client = guarded.test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret-scrape"},
                    {"Authorization": "Bearer s3cret-scrape-and-more"}):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401, headers
        assert refused.get_json()["error"] == "invalid_token"
        assert refused.headers["X-Content-Type-Options"] == "nosniff"
        assert "idp_" not in refused.get_data(as_text=True)
    assert _scrape(guarded, Authorization="Bearer s3cret-scrape")


def test_the_request_id_is_echoed_and_written_in_the_json_log_line(
        rp: Rp, request_lines: io.StringIO) -> None:
    answer = rp.browser.get("/healthz", headers={"X-Request-Id": "trace-42.a_b"})
    assert answer.headers["X-Request-Id"] == "trace-42.a_b"
    fresh = rp.browser.get("/healthz", headers={"X-Request-Id": "not ok\u00e9" + "x" * 80})
    assert re.fullmatch(r"[0-9a-f]{16}", fresh.headers["X-Request-Id"])
    other = rp.browser.get("/healthz")
    assert other.headers["X-Request-Id"] != fresh.headers["X-Request-Id"]
    lines = {line["request_id"]: line for line in _lines(request_lines)}
    line = lines["trace-42.a_b"]
    http = line["http"]
    assert isinstance(http, dict)
    assert (http["method"], http["path"], http["status"]) == ("GET", "/healthz", 200)
    assert isinstance(http["duration_ms"], float)
    assert (line["logger"], line["level"]) == ("idp.request", "INFO")
    assert fresh.headers["X-Request-Id"] in lines


def test_the_token_fast_path_logs_its_client_and_keeps_the_form_out_of_logs(
        rp: Rp, request_lines: io.StringIO) -> None:
    rp.login()
    form = _token_form(rp)
    answer = rp.browser.post("/token", data=form, auth=(rp.client_id, rp.secret or ""),
                             headers={"X-Request-Id": "tok-1"})
    assert answer.status_code == 200
    assert answer.headers["X-Request-Id"] == "tok-1"
    line = next(line for line in _lines(request_lines) if line["request_id"] == "tok-1")
    assert line["client_id"] == rp.client_id
    assert line["http"] == {**line["http"], "method": "POST", "path": "/token",  # type: ignore[dict-item]
                            "status": 200}
    logged = request_lines.getvalue()
    issued = answer.get_json()["access_token"]
    for secret in (form["code"], form["code_verifier"], rp.secret or "-", issued):
        assert secret not in logged


def test_interaction_paths_are_logged_as_their_route_with_their_client(
        rp: Rp, request_lines: io.StringIO) -> None:
    location, _ = rp.authorize()
    uid = location.split("/interaction/")[1].split("?")[0]
    rp.browser.get(f"/interaction/{uid}", headers={"Accept": "application/json"})
    line = next(line for line in _lines(request_lines)
                if line["http"]["path"] == "/interaction/<uid>")  # type: ignore[index]
    assert line["client_id"] == rp.client_id
    assert uid not in request_lines.getvalue()


def test_a_json_line_carries_an_exception_and_a_text_line_the_request_id() -> None:
    record = logging.LogRecord("idp.x", logging.ERROR, __file__, 1, "failed %s", ("here",), None)
    assert json.loads(logs.JsonFormatter().format(record))["message"] == "failed here"
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert "boom" in json.loads(logs.JsonFormatter().format(record))["exception"]
    logs.configure(LoggingSettings(format="text"), "WARNING")
    logs.configure(LoggingSettings(), "INFO")  # configuring again replaces, never duplicates
    handlers = [h for h in logging.getLogger().handlers if getattr(h, "idp_handler", False)]
    assert len(handlers) == 1
    logging.getLogger().removeHandler(handlers[0])


def test_the_metering_fragment_shows_the_month_table_and_chart(app: Flask) -> None:
    client_id, _ = register(app)
    services = services_of(app)
    at = datetime(2026, 5, 3, tzinfo=UTC)
    with metering.on_behalf_of(client_id):
        Meter(services.sessions).checked_many("sign", "ocsp", ["a:1", "a:2"], at)
    Meter(services.sessions).checked("auth", "ocsp", "b:1", at)
    with app.test_request_context("/"):
        html = fragment(services.metering, "2026-05", "en")
        japanese = fragment(services.metering, "2026-05", "ja")
    assert "<svg" in html
    assert f'data-client="{client_id}"' in html
    assert '<td class="total-yen">42</td>' in html
    assert "no relying party" in html
    assert "サービスなし" in japanese
