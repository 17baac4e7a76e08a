"""POST /token (RFC 6749 §3.2, §5.1, §5.2): one endpoint with a fast path in front of Flask.

``exchange`` is the endpoint: client authentication, then ``tokens.token_response``. Two
adapters call it and answer every refusal through the one renderer (``idp.web.errors``), with
the security headers of every answer (``idp.web.headers``):

- :class:`TokenEndpoint`, WSGI middleware in front of Flask, for ``POST /token`` with a form body
  of known length (every real token request). Profiled in process, Flask's request handling
  (request context, cookie session, routing, form parsing, hooks, response object) cost as much
  CPU as the exchange itself: 0.48 ms against 0.23 ms per exchange for the same work done here;
- the Flask route (``flask_route``) for the rest (a chunked or oversized body, say).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote_plus

from flask import Flask, jsonify, request
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.wrappers import Request

from idp import i18n, metering, metrics
from idp.errors import IdpError
from idp.oidc import client_auth, tokens
from idp.oidc.authorize import single_valued
from idp.oidc.context import OidcContext
from idp.oidc.errors import InvalidClientError, InvalidRequestError
from idp.web import errors, observe
from idp.web.headers import JSON_ANSWER, NO_STORE, REQUEST_ID

log = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
FORM = "application/x-www-form-urlencoded"
MAX_BODY = 65536  # larger bodies go to Flask and its limits (a token request is ~300 bytes)
MAX_FIELDS = 64
_STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}
_JSON = json.JSONEncoder(separators=(",", ":"))  # one encoder, not one per json.dumps call
_JSON_TYPE = ("Content-Type", "application/json")
_CLAIMED_MAX = 200  # characters of an unauthenticated client_id kept in its refusal's entry


def exchange(ctx: OidcContext, form: dict[str, str], authorization: str | None, address: str,
             audiences: set[str] | None = None) -> dict[str, Any]:
    """The token endpoint: authenticate the client, then answer its grant (raises refusals)."""
    # The throttle's count is written after the session closed: it never waits for it.
    # A refused client authentication is audited (not the throttle's 429s that follow: the
    # throttle exists to make refused guesses cheap, and each entry is a durable write).
    try:
        presented = client_auth.presented(form, authorization)
        try:
            with ctx.client_throttle.attempt(presented.throttled_as(address),
                                             counts=(InvalidClientError,)), \
                    _SessionOnDemand(ctx.sessions) as database:
                client = client_auth.authenticate(
                    database, ctx.clients, presented, audiences=audiences or ctx.audiences(),
                    seen_jti=lambda jti, exp: ctx.remember_jti(database(), jti, exp))
        except InvalidClientError as error:  # once its session is closed
            tokens.record_refusal(ctx, None, form.get("grant_type"), error,
                                  claimed=presented.client_id[:_CLAIMED_MAX])
            raise
        metering.bind_client(client.client_id)  # the log line names it
        answer = tokens.token_response(ctx, client, form)
    except IdpError as error:
        metrics.token_request(form.get("grant_type"), error.code)
        raise
    metrics.token_request(form.get("grant_type"), "ok")
    return answer


class TokenEndpoint:
    """WSGI middleware: POST /token here, every other request to ``app``."""

    def __init__(self, ctx: OidcContext, app: WsgiApp, default_language: str,
                 path: str = "/token") -> None:
        self._ctx = ctx
        self._app = app
        self._default_language = default_language
        self._path = path
        self._audiences = ctx.audiences()  # fixed by the issuer: computed once

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> \
            Iterable[bytes]:
        raw = self._body(environ)
        if raw is None:
            return self._app(environ, start_response)
        started = time.perf_counter()
        request_id = observe.start(environ.get("HTTP_X_REQUEST_ID"))
        try:
            body = exchange(self._ctx, _form(raw), environ.get("HTTP_AUTHORIZATION"),
                            environ.get("REMOTE_ADDR", ""), self._audiences)
            status, headers = 200, NO_STORE
        except IdpError as error:
            status, headers, body = _answer(errors.refusal(error, self._language(environ)))
        except Exception as error:
            found = errors.unexpected(error, self._language(environ))
            if found is None:
                log.exception("token request failed")  # as Flask: logged, a bare 500
                found = errors.Refusal(500, NO_STORE, {"error": "server_error"})
            status, headers, body = _answer(found)
        data = _JSON.encode(body).encode()
        start_response(_STATUS_LINES[status], [_JSON_TYPE, *JSON_ANSWER, *headers,
                                               (REQUEST_ID, request_id),
                                               ("Content-Length", str(len(data)))])
        observe.finish("POST", self._path, status, started)
        return [data]

    def _language(self, environ: dict[str, Any]) -> str:
        """The person's language as the Flask adapters read it (only a refusal needs it)."""
        seen = Request(environ)
        return i18n.choose(seen.args.get("lang"), seen.cookies.get("lang"),
                           seen.headers.get("Accept-Language"), self._default_language)

    def _body(self, environ: dict[str, Any]) -> str | None:
        """The body of a POST /token this adapter answers, or None (Flask answers)."""
        if environ.get("PATH_INFO") != self._path or environ.get("REQUEST_METHOD") != "POST":
            return None
        if environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower() != FORM:
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return None
        if not 0 <= length <= MAX_BODY:
            return None
        body: bytes = environ["wsgi.input"].read(length)
        return body.decode("utf-8", "replace")


def _answer(found: errors.Refusal) -> tuple[int, tuple[tuple[str, str], ...], dict[str, str]]:
    return found.status, found.headers, found.body


class _SessionOnDemand:
    """An ORM session for client authentication, opened only if it needs the database (a client
    not in the cache, an assertion's jti to record). A cached client with a secret never does, and
    the exchange itself runs on prepared statements: an unused Session still cost ~30 µs of
    set-up and tear-down per request (profiled in process). Commits what was written on success."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._session: Session | None = None

    def __call__(self) -> Session:
        if self._session is None:
            self._session = self._sessions()
        return self._session

    def __enter__(self) -> _SessionOnDemand:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        with session:
            if kind is None and session.in_transaction():  # a client read, a jti to keep
                session.commit()


def _form(raw: str) -> dict[str, str]:
    """The form's fields; a repeated one is refused as by the Flask route (RFC 6749 §3.2).

    The same fields as ``parse_qsl(raw, keep_blank_values=True, errors="replace")`` (a test
    holds them equal), in a third of its time: a token request's values (codes, verifiers, URLs
    already encoded by the client) rarely need unquoting, and parse_qsl unquotes every one.
    """
    fields = raw.split("&")
    if len(fields) > MAX_FIELDS:
        raise InvalidRequestError(f"more than {MAX_FIELDS} form parameters")
    pairs = (field.partition("=") for field in fields if field)
    return single_valued((_unquote(name), _unquote(value)) for name, _, value in pairs)


def _unquote(text: str) -> str:
    if "%" in text or "+" in text:
        return unquote_plus(text, errors="replace")
    return text


def flask_route(ctx: OidcContext) -> Any:
    """``POST /token`` for what the fast path leaves to Flask; refusals go to the same
    renderer through the app's error handler."""
    body = exchange(ctx, single_valued(request.form.items(multi=True)),
                    request.headers.get("Authorization"), request.remote_addr or "")
    response = jsonify(body)
    response.headers.extend(NO_STORE)
    return response


def install(app: Flask, ctx: OidcContext, default_language: str) -> None:
    """Put the fast path in front of ``app``."""
    app.wsgi_app = TokenEndpoint(  # type: ignore[method-assign]
        ctx, app.wsgi_app, default_language)
