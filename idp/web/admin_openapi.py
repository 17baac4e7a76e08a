"""The OpenAPI 3.1 document of the admin API, generated from its route table and the pydantic
models each route takes and answers (``idp.web.admin_api``): never written by hand."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from idp.admin.schemas import Problem

REFUSALS = {"400": "The request is not valid (the description says what to fix)",
            "401": "No valid credentials (a bearer token from `idp admin token`, or a session)",
            "403": "The role does not allow it, a passkey confirmation is needed, or the CSRF "
                   "token is missing",
            "404": "Nothing of that name",
            "409": "The name is taken, or the trust policy changed since it was read"}
THROTTLED = ("Too many refused passkey answers or enrolment URLs from this address "
             "(throttle.admin_sign_in): wait Retry-After seconds")
REF = "#/components/schemas/{model}"


def document(routes: list[Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault("/admin/api" + route.path, {})[route.method.lower()] = \
            _operation(route, schemas)
    _schema(Problem, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "JPKI IdP administration API", "version": "1",
                 "description": "The administrators' API (docs/admin.md). Bearer tokens come "
                                "from `idp admin token NAME`; a browser session sends its CSRF "
                                "token as X-CSRF-Token on every change."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "A token from `idp admin token`"},
            "session": {"type": "apiKey", "in": "cookie", "name": "idp_admin",
                        "description": "An administrator's browser session (passkey sign-in)"},
        }},
    }


def _operation(route: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.name, "summary": route.summary, "tags": [route.tag],
        "responses": {str(route.status): _content(route.answer, schemas, "The answer"),
                      **{code: _content(Problem, schemas, text)
                         for code, text in REFUSALS.items()}},
    }
    if route.throttled is not None:
        operation["responses"]["429"] = {**_content(Problem, schemas, THROTTLED), "headers": {
            "Retry-After": {"description": "Seconds until the window ends",
                            "schema": {"type": "integer", "minimum": 1}}}}
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "string", "minLength": 1, "maxLength": 200}}
                  for name in re.findall(r"{(\w+)}", route.path)]
    if route.query is not None:
        properties = _schema(route.query, schemas, register=False)["properties"]
        parameters += [{"name": name, "in": "query", "required": False,
                        "schema": _nullable_string(prop)} for name, prop in properties.items()]
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": REF.format(model=route.body.__name__)}}}}
        _schema(route.body, schemas)
    operation["security"] = [] if route.public else [{"bearer": []}, {"session": []}]
    return operation


def _content(model: type[BaseModel], schemas: dict[str, Any], text: str) -> dict[str, Any]:
    _schema(model, schemas)
    return {"description": text, "content": {"application/json": {
        "schema": {"$ref": REF.format(model=model.__name__)}}}}


def _schema(model: type[BaseModel], schemas: dict[str, Any], *,
            register: bool = True) -> dict[str, Any]:
    found = model.model_json_schema(ref_template=REF)
    schemas.update(found.pop("$defs", {}))
    if register:
        schemas[model.__name__] = found
    return found


def _nullable_string(prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema: the string branch of an optional string field, or a
    bounded integer's (``limit``)."""
    for branch in prop.get("anyOf", [prop]):
        if branch.get("type") in ("string", "integer"):
            return {k: v for k, v in branch.items() if k not in ("title", "default")}
    return {"type": "string"}
