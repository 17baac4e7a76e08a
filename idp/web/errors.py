"""The one error renderer: every refusal, from every adapter, answered the same way.

``refusal(error, language)`` turns an :class:`IdpError` into the status, headers and JSON body
the IdP answers. The Flask handlers (``install``) and the WSGI fast path in front of Flask
(``idp.web.fast``) both answer through it, so the two paths of one endpoint cannot drift:

- the body is ``{"error", "error_description"}``, the description in the person's language
  (``idp.i18n.errors``);
- ``Cache-Control: no-store`` on every refusal (RFC 6749 §5.1 for token answers; a refusal may
  name the person's state);
- ``WWW-Authenticate`` for a client that failed to authenticate (RFC 6749 §5.2) and
  ``Retry-After`` for 429/503 (RFC 9110 §10.2.3), taken from the error itself.

HTML pages (the authorization endpoint's error page, the person's pages) wrap the same body.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, jsonify, make_response, render_template, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from idp import db
from idp.errors import IdpError
from idp.i18n.errors import localised_error
from idp.oidc.errors import InvalidClientError
from idp.web import request as web_request
from idp.web.headers import NO_STORE

log = logging.getLogger(__name__)
# Endpoints a browser is sent to by a relying party: a refusal there is a page, unless JSON is
# asked for explicitly.
_PAGE_ENDPOINTS = frozenset({"oidc.authorize", "oidc.end_session", "oidc.confirm_logout"})


@dataclass(frozen=True)
class Refusal:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: dict[str, str]


def refusal(error: IdpError, language: str) -> Refusal:
    """How the IdP answers ``error`` to a person or client speaking ``language``."""
    if error.status == 500:  # a 503 (database, J-LIS) is logged where it is found, as a warning
        log.error("refused with a server error: %s", error.code)
    headers = list(NO_STORE)
    if isinstance(error, InvalidClientError):
        headers.append(("WWW-Authenticate", 'Basic realm="idp"'))
    retry_after: str | None = getattr(error, "retry_after", None)  # 429, 503
    if retry_after:
        headers.append(("Retry-After", retry_after))
    return Refusal(error.status, tuple(headers), localised_error(error, language))


def unexpected(error: Exception, language: str) -> Refusal | None:
    """The refusal an unexpected exception means (a database error: 400 or 503), or None when
    it is a bug (the caller answers 500 and logs it)."""
    found = db.refusal_for(error) if isinstance(error, DBAPIError) else None
    return refusal(found, language) if found is not None else None


def _wants_page() -> bool:
    if "application/json" in request.headers.get("Accept", ""):
        return False
    return request.endpoint in _PAGE_ENDPOINTS or (
        request.method == "GET" and request.accept_mimetypes.best == "text/html")


def respond(error: IdpError) -> Response:
    """The Flask answer for ``error``: the error page for a browser, JSON otherwise."""
    language = web_request.language()
    answer = refusal(error, language)
    if _wants_page():
        response = make_response(render_template(
            "oidc/error.html", lang=language,
            error={"code": answer.body["error"],
                   "description": answer.body["error_description"]}), answer.status)
    else:
        response = make_response(jsonify(answer.body), answer.status)
    for name, value in answer.headers:
        response.headers[name] = value
    return response


def install(app: Flask) -> None:
    """Register the handlers: refusals, database errors, and Werkzeug's HTTP errors."""
    handlers: dict[type[Exception], Callable[[Any], Response]] = {
        IdpError: respond, DBAPIError: _database_error, HTTPException: _http_error}
    for kind, handler in handlers.items():
        app.register_error_handler(kind, handler)


def _database_error(error: DBAPIError) -> Response:
    found = db.refusal_for(error)
    if found is None:
        raise error
    return respond(found)


def http_error(error: HTTPException) -> Refusal:
    """How the IdP answers Werkzeug's HTTP errors (404, 405, 500...): JSON, the error's name as
    the code (its cache headers are every answer's)."""
    body = {"error": (error.name or "error").lower().replace(" ", "_"),
            "error_description": error.description or ""}
    headers: tuple[tuple[str, str], ...] = ()
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers = (("Allow", ", ".join(error.valid_methods)),)  # RFC 9110 §15.5.6
    return Refusal(error.code or 500, headers, body)


def _http_error(error: HTTPException) -> Response:
    found = http_error(error)
    response = make_response(jsonify(found.body), found.status)
    for name, value in found.headers:
        response.headers[name] = value
    return response
