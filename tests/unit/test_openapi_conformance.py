"""docs/openapi.yaml against the app (Schemathesis over WSGI, no server): for requests generated
from the spec — valid ones and ones that break it — the app never answers a 5xx, and every
answer has a status, content type and body the spec documents.

The interaction and account operations are called on a live interaction, as the browser that
owns it (its cookies, a login session, and its CSRF token wherever the generated request sends
one) and as another browser: otherwise every generated request would only meet 404 or 403.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from idp.accounts.card_requests import BROWSER_COOKIE
from idp.accounts.sessions import COOKIE_NAME
from idp.app import create_app, services_of
from idp.settings import Settings
from tests.support import hostile_json as hostile
from tests.unit.oidc.conftest import ISSUER, Rp

SPEC = Path(__file__).parents[2] / "docs" / "openapi.yaml"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]


@pytest.fixture
def app(sqlite_settings: Settings) -> Iterator[Flask]:
    application = create_app(hostile.unthrottled(sqlite_settings.model_copy(update={
        "oidc": sqlite_settings.oidc.model_copy(update={"issuer": ISSUER})})))
    yield application
    services_of(application).engine.dispose()


@pytest.fixture
def rp(app: Flask) -> Rp:
    return Rp.registered(app)


# Loaded from the file, called on each test's app (``app=``): Schemathesis' fixture loader
# (schemathesis.pytest.from_fixture) does not run under pytest 9.2.
schema = schemathesis.openapi.from_path(SPEC)


def _live(rp: Rp) -> dict[str, Any]:
    """A new interaction of a logged-in browser: its uid, CSRF token and cookies."""
    rp.login()
    state = rp.interaction(rp.authorize()[0])
    cookies = {name: rp.browser.get_cookie(name, domain="localhost").value  # type: ignore[union-attr]
               for name in (COOKIE_NAME, BROWSER_COOKIE)}
    return {"uid": state["uid"], "csrf": state["csrf_token"], "cookies": cookies}


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_app_answers_as_docs_openapi_yaml_says(case: Any, app: Flask, rp: Rp) -> None:
    live = _live(rp)
    if "uid" in (case.path_parameters or {}):
        case.path_parameters["uid"] = live["uid"]
    if case.headers and "X-CSRF-Token" in case.headers:
        case.headers["X-CSRF-Token"] = live["csrf"]
    case.call_and_validate(app=app, cookies=live["cookies"], checks=CHECKS)


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_another_browser_is_answered_as_docs_openapi_yaml_says(case: Any, app: Flask,
                                                               rp: Rp) -> None:
    """The same live interaction, called by a browser without its cookies: wrong_browser."""
    live = _live(rp)
    if "uid" in (case.path_parameters or {}):
        case.path_parameters["uid"] = live["uid"]
    case.call_and_validate(app=app, checks=CHECKS)
