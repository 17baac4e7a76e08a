"""The fast path: one WSGI dispatcher in front of Flask for a declared set of hot routes.

A route declared here (:class:`Route`) is written once, against :class:`~idp.web.request.Call`,
and served two ways that answer alike:

- by :class:`FastPath`, WSGI middleware in front of Flask, for the requests it can read without
  Flask: the declared method and path, a body of known length (JSON or a form, as the route
  says) or none, an answer in JSON (or a redirect) wanted. It does what Flask's hooks do for
  those routes, through the same functions: the request id, relying party, log line and counts
  (``idp.web.observe``), the interaction's browser binding (``idp.web.binding``), the one error
  renderer (``idp.web.errors``), the security and cache headers (``idp.web.headers``), Flask's
  signed session cookie read and written as Flask's own session interface does (same
  serializer, same attributes), and the bytes Flask's ``jsonify`` and ``redirect`` write;
- by the Flask view :func:`flask_view` gives, registered as usual, for every other request (a
  chunked or oversized body, a browser asking for a page, HEAD, a path with a trailing slash).

Profiled in process, Flask's per-request machinery (request context, cookie session, routing,
hooks, response object) cost as much CPU as a cheap route's own work. The token endpoint
(``idp.web.token``) was the first route served this way; tests/unit/web/test_fast_path.py holds
the two paths' answers equal (status, headers, body) for successes and refusals.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote_plus

from flask import Flask, jsonify, redirect, request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import escape
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from werkzeug.datastructures import MIMEAccept, MultiDict
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import dump_cookie, parse_accept_header, parse_cookie
from werkzeug.routing import MapAdapter
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response as BaseResponse

from idp import db as dbm
from idp import i18n, metering, metrics
from idp.accounts.card_requests import BROWSER_COOKIE
from idp.errors import IdpError
from idp.oidc.authorize import single_valued
from idp.oidc.errors import InvalidRequestError
from idp.web import binding, errors, observe
from idp.web.headers import CACHEABLE, NO_STORE, REQUEST_ID, security_headers
from idp.web.request import (
    LANGUAGE_COOKIE_SECONDS,
    Answer,
    Cookie,
    FlaskCall,
    WebContext,
    language_to_remember,
)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Handler = Callable[..., Answer]  # handler(call, **path_values)
FORM = "application/x-www-form-urlencoded"
MAX_BODY = 65536  # larger bodies go to Flask and its limits (these bodies are < 2 KB)
MAX_FIELDS = 64
_STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}
_INTERACTION = "/interaction/<uid>"


@dataclass(frozen=True)
class Route:
    """A route served by the fast path and by Flask alike.

    ``rule`` and ``endpoint`` are Flask's (the fast path checks at start that Flask serves the
    same rule under that endpoint). ``body``: ``"json"`` or ``"form"`` for a POST's body, None
    for a request without one. ``wants_json``: served here only when the client's Accept
    prefers JSON (Flask's view answers a page otherwise). ``pages``: a refusal is the error
    page unless JSON is asked for (``idp.web.errors``). ``unexpected`` answers an unexpected
    exception on the fast path (the token endpoint's ``server_error``); without it the answer
    is Flask's 500.
    """

    method: str
    rule: str
    endpoint: str
    handler: Handler
    body: str | None = None
    wants_json: bool = False
    pages: bool = False
    unexpected: Callable[[Exception], Answer] | None = None

    @property
    def interaction(self) -> bool:
        """An ``/interaction/<uid>`` route: its row is read once, its binding checked."""
        return self.rule == _INTERACTION or self.rule.startswith(_INTERACTION + "/")

    def segments(self) -> tuple[str, ...]:
        return tuple(self.rule.split("/"))


def flask_view(handler: Handler) -> Callable[..., BaseResponse]:
    """The Flask view of a shared route: the same handler, over Flask's request."""

    def view(**values: Any) -> BaseResponse:
        return flask_response(handler(FlaskCall(), **values))

    view.__name__ = getattr(handler, "__name__", "view")
    return view


def flask_response(answer: Answer) -> BaseResponse:
    """``answer`` as Flask's response (the renderer's page or JSON for a refusal)."""
    response: BaseResponse
    if answer.error is not None:
        response = errors.respond(answer.error)
    elif answer.location is not None:
        response = redirect(answer.location, code=answer.status)
    else:
        response = jsonify(answer.body)
        response.status_code = answer.status
    for name, value in answer.headers:
        response.headers[name] = value
    for cookie in answer.cookies:
        response.set_cookie(cookie.name, cookie.value, httponly=cookie.httponly,
                            samesite=cookie.samesite, secure=request.is_secure)
    return response


def parse_form(raw: str) -> dict[str, str]:
    """A form body's fields; a repeated one is refused (RFC 6749 §3.2).

    The same fields as ``parse_qsl(raw, keep_blank_values=True, errors="replace")`` (a test
    holds them equal), in a third of its time: values rarely need unquoting (codes, verifiers,
    URLs already encoded by the client), and parse_qsl unquotes every one.
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


class _SessionCodec:
    """Flask's session cookie as its session interface reads and writes it, with the serializer
    built once (Flask builds it at every open and save)."""

    def __init__(self, app: Flask) -> None:
        interface = app.session_interface
        if not isinstance(interface, SecureCookieSessionInterface):
            raise ValueError("the fast path reads Flask's signed cookie session only")
        self._app = app
        self._interface = interface
        self._class = interface.session_class
        signer: URLSafeTimedSerializer | None = interface.get_signing_serializer(app)
        if signer is None:
            raise ValueError("the fast path needs the app's SECRET_KEY")
        self._signer = signer
        self._max_age = int(app.permanent_session_lifetime.total_seconds())
        self.name = interface.get_cookie_name(app)

    def load(self, value: str | None) -> Any:
        if not value:
            return self._class()
        try:
            return self._class(self._signer.loads(value, max_age=self._max_age))
        except BadSignature:
            return self._class()

    def save(self, session: Any, secure: bool, headers: list[tuple[str, str]]) -> None:
        """What ``SecureCookieSessionInterface.save_session`` adds to an answer."""
        app, interface = self._app, self._interface
        options: dict[str, Any] = {
            "domain": interface.get_cookie_domain(app), "path": interface.get_cookie_path(app),
            # SessionCookies adds the request's https to the configured flag: ``secure`` here
            "secure": secure or SecureCookieSessionInterface.get_cookie_secure(interface, app),
            "partitioned": interface.get_cookie_partitioned(app),
            "samesite": interface.get_cookie_samesite(app),
            "httponly": interface.get_cookie_httponly(app)}
        vary = session.accessed
        if not session:
            if session.modified:
                headers.append(("Set-Cookie", dump_cookie(
                    self.name, expires=0, max_age=0, **options)))
                vary = True
        elif interface.should_set_cookie(app, session):
            headers.append(("Set-Cookie", dump_cookie(
                self.name, self._signer.dumps(dict(session)),
                expires=interface.get_expiration_time(app, session), **options)))
            vary = True
        if vary:
            headers.append(("Vary", "Cookie"))


class WsgiCall:
    """:class:`~idp.web.request.Call` over a WSGI environ, read lazily: a cookie, the session or
    the query string is parsed only if the route asks for it."""

    def __init__(self, environ: dict[str, Any], web: WebContext, codec: _SessionCodec,
                 urls: Callable[[str], MapAdapter], body: bytes) -> None:
        self.environ = environ
        self.web = web
        self.remote_addr: str = environ.get("REMOTE_ADDR") or ""
        self.is_secure = environ.get("wsgi.url_scheme") == "https"
        self._codec = codec
        self._urls = urls
        self._body = body
        self._cookies: Any = None
        self._session: Any = None
        self._args: MultiDict[str, str] | None = None
        self._json: tuple[Any] | None = None

    @property
    def session(self) -> Any:
        if self._session is None:
            self._session = self._codec.load(self.cookie(self._codec.name))
        self._session.accessed = True  # as Flask's session proxy marks it: "Vary: Cookie"
        return self._session

    def header(self, name: str) -> str | None:
        key = name.upper().replace("-", "_")
        found: str | None = self.environ.get(
            key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}")
        return found

    def cookie(self, name: str) -> str | None:
        if self._cookies is None:
            self._cookies = parse_cookie(self.environ.get("HTTP_COOKIE"))
        found: str | None = self._cookies.get(name)
        return found

    def form(self) -> dict[str, str]:
        return parse_form(self._body.decode("utf-8", "replace"))

    @property
    def args(self) -> MultiDict[str, str]:
        """The query's parameters, as Werkzeug's ``Request.args`` parses them."""
        if self._args is None:
            self._args = Request(self.environ).args
        return self._args

    def params(self) -> dict[str, str]:
        # Only GET is served here: Werkzeug's ``values`` of a GET are its ``args``.
        return single_valued((name, value) for name, values in self.args.lists()
                             for value in values)

    def json(self) -> Any:
        if self._json is None:  # parsed once, however often the route asks
            self._json = (self._parsed(),)
        return self._json[0]

    def _parsed(self) -> Any:
        if not _is_json(self.environ.get("CONTENT_TYPE", "")):
            return None
        try:
            return json.loads(self._body)  # as Flask's get_json(silent=True), and json_or_none
        except (ValueError, RecursionError):
            return None

    def language(self) -> str:
        lang = self.args.get("lang") if self.environ.get("QUERY_STRING") else None
        return i18n.choose(lang, self.cookie("lang"), self.environ.get("HTTP_ACCEPT_LANGUAGE"),
                           self.web.default_language)

    def url(self, endpoint: str, **values: Any) -> str:
        return self._urls(self.environ.get("SCRIPT_NAME", "")).build(endpoint, values)

    def saved_session(self, headers: list[tuple[str, str]]) -> None:
        if self._session is not None:
            self._codec.save(self._session, self.is_secure, headers)


def _is_json(content_type: str) -> bool:
    """``werkzeug``'s ``Request.is_json``: the body's type is JSON."""
    mimetype = content_type.split(";")[0].strip().lower()
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json"))


def _wants_page(environ: dict[str, Any]) -> bool:
    """A GET whose refusal Flask renders as a page (``idp.web.errors``): left to Flask."""
    accept = environ.get("HTTP_ACCEPT", "")
    return "application/json" not in accept and \
        parse_accept_header(accept, MIMEAccept).best == "text/html"


def _wants_json(environ: dict[str, Any]) -> bool:
    """The client prefers JSON (``idp.web.request.wants_json``), and a refusal is JSON too."""
    accept = environ.get("HTTP_ACCEPT", "")
    return "application/json" in accept and \
        parse_accept_header(accept, MIMEAccept).best == "application/json"


class FastPath:
    """WSGI middleware: the declared routes' requests answered here, all else by ``app``."""

    def __init__(self, app: Flask, web: WebContext, routes: Iterable[Route]) -> None:
        self._flask = app
        self._app: WsgiApp = app.wsgi_app
        self._web = web
        self._codec = _SessionCodec(app)
        self._adapters: dict[str, MapAdapter] = {}
        self._routes: dict[tuple[str, int], list[tuple[tuple[str, ...], Route]]] = {}
        self._engine: Engine = web.sessions.kw["bind"]  # the browser check's one read
        self._prefix = web.issuer + "/interaction/"
        self._rows = binding.RequestInteractions()
        self._cookie_size: int = app.config["MAX_COOKIE_SIZE"]  # as Flask's Response reads it
        self._json: Callable[..., str] = app.json.dumps
        compact = getattr(app.json, "compact", None)
        self._json_args: dict[str, Any] = {"indent": 2} if (
            compact is None and app.debug) or compact is False else {"separators": (",", ":")}
        served = {(rule.rule, method): rule.endpoint for rule in app.url_map.iter_rules()
                  for method in rule.methods or ()}
        for route in routes:
            if served.get((route.rule, route.method)) != route.endpoint:
                raise ValueError(f"Flask does not serve {route.method} {route.rule} as "
                                 f"{route.endpoint}: the fast path answers only what it does")
            segments = route.segments()
            self._routes.setdefault((route.method, len(segments)), []).append(
                (segments, route))

    def _urls(self, script_name: str) -> MapAdapter:
        adapter = self._adapters.get(script_name)
        if adapter is None:
            adapter = self._flask.url_map.bind("localhost", script_name=script_name or "/")
            self._adapters[script_name] = adapter
        return adapter

    def match(self, environ: dict[str, Any]) -> tuple[Route, dict[str, str]] | None:
        """The route serving this request here, and its path values; None: Flask serves it."""
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "").encode("latin-1", "replace").decode(
            "utf-8", "replace")  # as werkzeug decodes it
        parts = path.split("/")
        for segments, route in self._routes.get((method, len(parts)), ()):
            values: dict[str, str] = {}
            for part, segment in zip(parts, segments, strict=True):
                if segment.startswith("<"):
                    if not part:
                        break
                    values[segment[1:-1]] = part
                elif part != segment:
                    break
            else:
                return route, values
        return None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> \
            Iterable[bytes]:
        found = self.match(environ)
        if found is None:
            return self._app(environ, start_response)
        route, values = found
        body = self._body(environ, route)
        if body is None:
            return self._app(environ, start_response)
        started = time.perf_counter()
        request_id = observe.start(environ.get("HTTP_X_REQUEST_ID"))
        call = WsgiCall(environ, self._web, self._codec, self._urls, body)
        browser = binding.binding_for(call.cookie(BROWSER_COOKIE), self._web.cookie_secret) \
            if route.endpoint == binding.AUTHORIZE else None
        with binding.fast_request(browser):
            done = self._serve(call, route, values)
        status, headers = done.status, done.headers
        # What the app's after-request hooks add (idp.web.binding, .request, .headers).
        if browser is not None and binding.binds_browser(status, done.location, self._prefix):
            headers.append(("Set-Cookie", self._cookie(call, Cookie(BROWSER_COOKIE, browser))))
        chosen = call.args.get("lang") if environ.get("QUERY_STRING") else None
        if language_to_remember(done.mimetype, chosen, call.cookie("lang")):
            headers.append(("Set-Cookie", dump_cookie(
                "lang", str(chosen), max_age=LANGUAGE_COOKIE_SECONDS, samesite="Lax",
                httponly=True, secure=call.is_secure, max_size=self._cookie_size)))
        headers.extend(security_headers(done.mimetype))
        headers.append((REQUEST_ID, request_id))
        if route.endpoint not in CACHEABLE and not any(
                name == "Cache-Control" for name, _ in headers):
            headers.extend(NO_STORE)
        call.saved_session(headers)
        start_response(_STATUS_LINES.get(status, f"{status} UNKNOWN"), headers)
        login = observe.LOGIN_ENDPOINTS.get(route.endpoint)
        if login is not None:
            metrics.login(login, observe.outcome_of(status, self._error_code(status, done.data)))
        observe.finish(route.method, route.rule, status, started)  # the route, never its values
        return [done.data]

    def _serve(self, call: WsgiCall, route: Route, values: dict[str, str]) -> _Done:
        try:
            try:
                if route.interaction:
                    row = self._rows.first_look(self._engine, values["uid"])
                    metering.bind_client(row.client_id if row is not None else None)
                    binding.check_browser(row, call.cookie(BROWSER_COOKIE))
                answer = route.handler(call, **values)
            except DBAPIError as error:
                found = dbm.refusal_for(error)
                if found is None:
                    raise
                answer = Answer(error=found)
        except IdpError as error:
            answer = Answer(error=error)
        except HTTPException as error:
            answer = _http_error(error)
        except Exception as error:
            if route.unexpected is not None:
                answer = route.unexpected(error)
            elif self._flask.config["PROPAGATE_EXCEPTIONS"] or (
                    self._flask.config["PROPAGATE_EXCEPTIONS"] is None
                    and (self._flask.testing or self._flask.debug)):
                raise
            else:  # as Flask: logged, answered by the HTTP error handler
                self._flask.logger.error(
                    "Exception on %s [%s]", call.environ.get("PATH_INFO"),
                    call.environ.get("REQUEST_METHOD"), exc_info=error)
                answer = _http_error(InternalServerError(original_exception=error))
        if answer.error is not None and route.pages and \
                "application/json" not in call.environ.get("HTTP_ACCEPT", ""):
            return self._page(call, answer.error, answer.headers)
        return self._render(call, answer)

    def _page(self, call: WsgiCall, error: IdpError,
              extra: tuple[tuple[str, str], ...]) -> _Done:
        """A refusal a browser gets as a page: rendered by the renderer, in Flask's request
        context (rare: a bad authorization request)."""
        with self._flask.request_context(call.environ):
            response = errors.respond(error)
            for name, value in extra:
                response.headers[name] = value
            data = response.get_data()
            headers = [(name, value) for name, value in response.headers.items()
                       if name != "Content-Length"]
        headers.insert(1, ("Content-Length", str(len(data))))
        return _Done(response.status_code, headers, data, response.mimetype or "", "")

    def _render(self, call: WsgiCall, answer: Answer) -> _Done:
        status, body = answer.status, answer.body
        extra: list[tuple[str, str]] = []
        if answer.error is not None:
            found = errors.refusal(answer.error, call.language())
            status, body, extra = found.status, found.body, list(found.headers)
        for name, value in answer.headers:  # set over the refusal's, as Flask's view does
            extra = [(n, v) for n, v in extra if n.lower() != name.lower()]
            extra.append((name, value))
        if answer.location is not None and answer.error is None:
            mimetype, location = "text/html", answer.location
            data = _redirect_page(location)
            headers = [("Content-Type", "text/html; charset=utf-8"),
                       ("Content-Length", str(len(data))), *extra, ("Location", location)]
        else:
            mimetype, location = "application/json", ""
            data = f"{self._json(body, **self._json_args)}\n".encode()
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                       *extra]
        for cookie in answer.cookies:
            headers.append(("Set-Cookie", self._cookie(call, cookie)))
        return _Done(status, headers, data, mimetype, location)

    def _cookie(self, call: WsgiCall, cookie: Cookie) -> str:
        return dump_cookie(cookie.name, cookie.value, httponly=cookie.httponly,
                           samesite=cookie.samesite, secure=call.is_secure,
                           max_size=self._cookie_size)

    @staticmethod
    def _error_code(status: int, data: bytes) -> str | None:
        if status < 400:
            return None
        try:
            found = json.loads(data)
        except ValueError:
            return None
        code = found.get("error") if isinstance(found, dict) else None
        return code if isinstance(code, str) else None

    @staticmethod
    def _body(environ: dict[str, Any], route: Route) -> bytes | None:
        """The body of a request answered here, or None (Flask answers it)."""
        length_text = environ.get("CONTENT_LENGTH") or ""
        if route.body is None:
            if length_text not in ("", "0") or environ.get("CONTENT_TYPE") or \
                    environ.get("HTTP_TRANSFER_ENCODING"):
                return None
            if route.method == "GET" and not route.pages and _wants_page(environ):
                return None
            if route.wants_json and not _wants_json(environ):
                return None
            return b""
        content_type = environ.get("CONTENT_TYPE", "")
        if route.body == "form" and content_type.split(";")[0].strip().lower() != FORM:
            return None
        if route.body == "json" and not _is_json(content_type):
            return None  # the route refuses it: Flask answers that
        try:
            length = int(length_text)
        except ValueError:
            return None
        if not 0 <= length <= MAX_BODY:
            return None
        data: bytes = environ["wsgi.input"].read(length)
        return data


@dataclass(frozen=True)
class _Done:
    """An answer rendered: what the after-request steps see of it."""

    status: int
    headers: list[tuple[str, str]]
    data: bytes
    mimetype: str
    location: str


def _redirect_page(location: str) -> bytes:
    """The little page of ``werkzeug.utils.redirect`` (Flask's ``redirect``)."""
    shown = escape(location)
    return ("<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n"
            "<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the target "
            f'URL: <a href="{shown}">{shown}</a>. If not, click the link.\n').encode()


def _http_error(error: HTTPException) -> Answer:
    found = errors.http_error(error)
    return Answer(found.body, found.status, found.headers)


def install(app: Flask, web: WebContext, routes: Iterable[Route]) -> None:
    """Put the fast path for ``routes`` in front of ``app`` (their Flask views registered)."""
    app.wsgi_app = FastPath(app, web, routes)  # type: ignore[method-assign]
