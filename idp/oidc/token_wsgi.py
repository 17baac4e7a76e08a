"""POST /token as a plain WSGI function in front of Flask (RFC 6749 §3.2, §5.1, §5.2).

Profiled in process, Flask's request handling (request context, cookie session, routing, form
parsing, hooks, response object) cost as much CPU as the token exchange itself: 0.48 ms against
0.23 ms per exchange for the same work done here. This adapter answers only the requests it can
answer the same way the Flask route would: ``POST /token`` with a form body of known length.
Anything else (another method, a chunked or oversized body, another content type) goes on to
Flask, whose route (``idp.oidc.routes``) runs the same functions: client authentication, then
``tokens.token_response``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote_plus

from flask import Flask
from flask.sansio.app import App
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from idp import db
from idp.errors import IdpError
from idp.oidc import clients, tokens
from idp.oidc.authorize import single_valued
from idp.oidc.context import OidcContext
from idp.oidc.errors import InvalidClientError, InvalidRequestError

log = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
FORM = "application/x-www-form-urlencoded"
MAX_BODY = 65536  # larger bodies go to Flask and its limits (a token request is ~300 bytes)
MAX_FIELDS = 64
_STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}
_JSON = json.JSONEncoder(separators=(",", ":"))  # one encoder, not one per json.dumps call
_NO_STORE = [("Content-Type", "application/json"), ("Cache-Control", "no-store"),
             ("Pragma", "no-cache")]  # RFC 6749 §5.1


class TokenEndpoint:
    """WSGI middleware: POST /token here, every other request to ``app``."""

    def __init__(self, ctx: OidcContext, app: WsgiApp, path: str = "/token") -> None:
        self._ctx = ctx
        self._app = app
        self._path = path
        self._audiences = ctx.audiences()  # fixed by the issuer: computed once

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> \
            Iterable[bytes]:
        raw = self._body(environ)
        if raw is None:
            return self._app(environ, start_response)
        try:
            status, body = 200, self._exchange(_form(raw), environ.get("HTTP_AUTHORIZATION"),
                                                environ.get("REMOTE_ADDR", ""))
            extra = []
        except IdpError as error:  # as the Flask app answers them (idp/app.py)
            status, body, extra = error.status, error.to_dict(), _headers(error)
        except Exception as error:
            status, body, extra = _failure(error)
        data = _JSON.encode(body).encode()
        start_response(_STATUS_LINES[status],
                       [*_NO_STORE, *extra, ("Content-Length", str(len(data)))])
        return [data]

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

    def _exchange(self, form: dict[str, str], authorization: str | None,
                  address: str) -> dict[str, Any]:
        ctx = self._ctx
        # The throttle's count is written after the session closed: it never waits for it.
        presented = clients.presented(form, authorization)
        with ctx.client_throttle.attempt(presented.throttled_as(address),
                                         counts=(InvalidClientError,)), \
                _SessionOnDemand(ctx.sessions) as database:
            client = clients.authenticate(
                database, ctx.clients, presented, audiences=self._audiences,
                seen_jti=lambda jti, exp: ctx.remember_jti(database(), jti, exp))
        return tokens.token_response(ctx, client, form)


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


def _headers(error: IdpError) -> list[tuple[str, str]]:
    if isinstance(error, InvalidClientError):
        return [("WWW-Authenticate", 'Basic realm="idp"')]  # RFC 6749 §5.2
    retry_after: str | None = getattr(error, "retry_after", None)  # 429, 503
    return [("Retry-After", retry_after)] if retry_after else []


def _failure(error: Exception) -> tuple[int, dict[str, str], list[tuple[str, str]]]:
    """What the Flask app answers for an unexpected error (idp/app.py), without Flask."""
    refusal = db.refusal_for(error) if isinstance(error, DBAPIError) else None
    if refusal is not None:
        return refusal.status, refusal.to_dict(), _headers(refusal)
    log.exception("token request failed")  # as Flask would: logged, a 500 without details
    return 500, {"error": "server_error"}, []


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


def install(app: App, ctx: OidcContext) -> None:
    """Put the endpoint in front of ``app`` (a blueprint's ``record_once`` passes the app)."""
    if not isinstance(app, Flask):
        raise TypeError("the token endpoint needs a WSGI Flask app")
    app.wsgi_app = TokenEndpoint(ctx, app.wsgi_app)  # type: ignore[method-assign]
