"""/admin/api/openapi.json is generated from the route table and the pydantic models, is a
valid OpenAPI 3.1 document naming every admin API route, and the app answers as it says:
Schemathesis over WSGI, with an administrator's bearer token (and without one)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from idp.app import create_app, services_of
from idp.settings import Settings
from idp.web.admin_api import ROUTES
from idp.web.admin_openapi import document
from tests.support.admin import add_admin, admin_settings
from tests.support.login import login_session

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]
schema = schemathesis.openapi.from_dict(document(ROUTES))


def test_the_document_is_valid_openapi(app: Flask) -> None:
    served = app.test_client().get("/admin/api/openapi.json")
    assert served.status_code == 200
    assert served.get_json() == document(ROUTES)
    validate(served.get_json())


def test_the_document_names_every_admin_api_route(app: Flask) -> None:
    documented = {(method.upper(), path) for path, operations in
                  document(ROUTES)["paths"].items() for method in operations}
    served = {(method, rule.rule.replace("<", "{").replace(">", "}"))
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin/api/")
              and rule.endpoint != "admin_api.openapi"
              for method in rule.methods or () if method not in ("HEAD", "OPTIONS")}
    assert documented == served


def test_every_body_and_answer_is_a_named_schema() -> None:
    components = document(ROUTES)["components"]["schemas"]
    for route in ROUTES:
        assert route.answer.__name__ in components
        if route.body is not None:
            assert route.body.__name__ in components


@pytest.fixture
def fuzzed(sqlite_settings: Settings) -> Iterator[tuple[Flask, dict[str, str]]]:
    """The app, a bearer token of an admin, a relying party and a person to aim at."""
    application = create_app(admin_settings(sqlite_settings))
    add_admin(application, "fuzzer", "admin")
    token = services_of(application).admin.identity.issue_token("fuzzer", 600)[0]
    client = application.test_client()
    made = client.post("/admin/api/clients", headers={"Authorization": f"Bearer {token}"},
                       json={"name": "Bank", "redirect_uris": ["https://bank.example/cb"]})
    private_id, _ = login_session(application)
    yield application, {"token": token, "client_id": made.get_json()["client"]["client_id"],
                        "private_id": private_id}
    services_of(application).engine.dispose()


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_its_document_says(case: Any,
                                              fuzzed: tuple[Flask, dict[str, str]]) -> None:
    app, live = fuzzed
    if not _negative(case, "path"):  # the live objects, not only unknown ones
        case.path_parameters = {name: live.get(name, value)
                                for name, value in (case.path_parameters or {}).items()}
    headers = {} if _negative(case, "header") else {
        "Authorization": f"Bearer {live['token']}"}
    case.call_and_validate(app=app, headers=headers, checks=CHECKS)


def _negative(case: Any, location: str) -> bool:
    """Whether Schemathesis made ``location`` break the document on purpose (then it is sent
    as generated, to be refused)."""
    meta = getattr(case, "meta", None)
    component = meta.components.get(location) if meta is not None else None
    return component is not None and component.mode.is_negative


@schema.parametrize()
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
def test_without_credentials_the_api_answers_as_its_document_says(
        case: Any, fuzzed: tuple[Flask, dict[str, str]]) -> None:
    case.call_and_validate(app=fuzzed[0], checks=CHECKS)
