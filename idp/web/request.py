"""What every adapter reads from a request, written once: the person's language, the login
session, CSRF, the JSON body, and the login cookie.

``create_app`` puts a :class:`WebContext` on the app (``idp.web``); these helpers read it from
the current app, so a route never needs its own copy of the cookie secret or the default
language.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import Response, current_app, request, session, url_for
from sqlalchemy.orm import Session, sessionmaker

from idp import i18n
from idp.accounts import sessions as login_sessions
from idp.errors import CsrfFailedError, IdpError, LoginRequiredError
from idp.i18n.dates import Clock
from idp.web.words import Words, issuer_words

EXTENSION = "idp.web"


@dataclass(frozen=True)
class WebContext:
    """What the request helpers need, set once by ``create_app``."""

    sessions: sessionmaker[Session]
    cookie_secret: str
    default_language: str
    issuer: str
    time_zone: str = "Asia/Tokyo"


class BadBodyError(IdpError):
    """The body must be JSON of the documented shape."""


def context() -> WebContext:
    found: WebContext = current_app.extensions[EXTENSION]
    return found


# -- a request as a route reads it, from Flask or from the fast path ---------------------------
class Call(Protocol):
    """What a route shared by Flask and the fast path (``idp.web.fast``) reads from its request:
    :class:`FlaskCall` over Flask's ``request``, ``idp.web.fast.WsgiCall`` over the WSGI environ.
    The two answer alike (tests/unit/web/test_fast_path.py holds them equal)."""

    web: WebContext
    remote_addr: str
    is_secure: bool

    @property
    def session(self) -> MutableMapping[str, Any]:
        """Flask's signed session cookie (passkey ceremony handles, the terms agreement)."""
        ...

    def header(self, name: str) -> str | None: ...

    def cookie(self, name: str) -> str | None: ...

    def form(self) -> dict[str, str]:
        """The form body's fields (one value each; a repeated one is refused)."""
        ...

    def params(self) -> dict[str, str]:
        """The query's parameters, and a POST's form fields (one value each; a repeated one is
        refused), as Flask's ``request.values``."""
        ...

    def json(self) -> Any:
        """The JSON body, or None when it is not JSON (as :func:`json_or_none`)."""
        ...

    def language(self) -> str: ...

    def url(self, endpoint: str, **values: Any) -> str:
        """The path of ``endpoint`` as ``flask.url_for`` gives it."""
        ...


@dataclass(frozen=True)
class Cookie:
    """A cookie an answer sets: ``Secure`` when the request came over https."""

    name: str
    value: str
    httponly: bool = True
    samesite: str = "Lax"


@dataclass(frozen=True)
class Answer:
    """A shared route's JSON answer; ``error`` makes it the renderer's refusal of that error
    (``idp.web.errors``), with ``headers`` set over the refusal's; ``location`` a redirect
    (``status`` 302/303) with Werkzeug's little page."""

    body: Any = None
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[Cookie, ...] = ()
    error: IdpError | None = field(default=None, compare=False)
    location: str | None = None


class FlaskCall:
    """:class:`Call` over Flask's request of this thread."""

    is_secure: bool

    def __init__(self) -> None:
        self.web = context()
        self.remote_addr = request.remote_addr or ""
        self.is_secure = request.is_secure

    @property
    def session(self) -> MutableMapping[str, Any]:
        return session

    def header(self, name: str) -> str | None:
        return request.headers.get(name)

    def cookie(self, name: str) -> str | None:
        return request.cookies.get(name)

    def form(self) -> dict[str, str]:
        from idp.oidc.authorize import single_valued

        return single_valued(request.form.items(multi=True))

    def params(self) -> dict[str, str]:
        from idp.oidc.authorize import single_valued

        return single_valued((name, value) for name, values in request.values.lists()
                             for value in values)

    def json(self) -> Any:
        return json_or_none()

    def language(self) -> str:
        return language()

    def url(self, endpoint: str, **values: Any) -> str:
        return url_for(endpoint, **values)


# -- language ---------------------------------------------------------------------------------
def language() -> str:
    """The person's language: ``?lang=``, then the ``lang`` cookie, then Accept-Language."""
    return i18n.choose(request.args.get("lang"), request.cookies.get("lang"),
                       request.headers.get("Accept-Language"), context().default_language)


LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600


def remember_language(response: Response) -> Response:
    """A page asked for with ``?lang=ja|en`` (the pages' language switch) keeps that choice in
    the ``lang`` cookie, so the person's next pages — the account, a sign-in a relying party
    starts — come in the language they chose, not only the one link they followed."""
    chosen = request.args.get("lang")
    if language_to_remember(response.mimetype, chosen, request.cookies.get("lang")):
        response.set_cookie("lang", str(chosen), max_age=LANGUAGE_COOKIE_SECONDS,
                            samesite="Lax", httponly=True, secure=request.is_secure)
    return response


def language_to_remember(mimetype: str | None, chosen: str | None, kept: str | None) -> bool:
    """A page whose ``?lang=`` is a language this browser's ``lang`` cookie does not hold yet."""
    return mimetype == "text/html" and chosen in i18n.LANGUAGES and kept != chosen


def translator(lang: str) -> Callable[..., str]:
    """``t(key, **values)`` for templates."""
    return lambda key, **values: i18n.translate(lang, key, **values)


def clock(lang: str) -> Clock:
    """Dates and times for templates, in ``lang`` and the instance's time zone."""
    return Clock(lang, context().time_zone)


def page_texts(lang: str) -> dict[str, Any]:
    """What every page template is given: ``lang``, the translator ``t``, the ``clock`` (dates
    and times) and ``words`` (states and codes in words)."""
    return {"lang": lang, "t": translator(lang), "clock": clock(lang), "words": Words(lang),
            "issuer_words": issuer_words}


def wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def issuer_url(endpoint: str, **values: Any) -> str:
    """The absolute URL of ``endpoint`` at this IdP, built from the configured issuer (as every
    OIDC endpoint is), never from the request's Host header, which the client chooses: a link a
    person or a card app follows must not lead to whatever host the request named."""
    path = current_app.url_map.bind("", script_name="/").build(endpoint, values)
    return context().issuer + path


# -- the login session ------------------------------------------------------------------------
def session_id(call: Call | None = None) -> str | None:
    """The login session named by this browser's signed cookie (not checked against the DB)."""
    if call is None:
        return login_sessions.session_id_from_cookie(
            context().cookie_secret, request.cookies.get(login_sessions.COOKIE_NAME))
    return login_sessions.session_id_from_cookie(
        call.web.cookie_secret, call.cookie(login_sessions.COOKIE_NAME))


def active_session(call: Call | None = None) -> login_sessions.ActiveSession | None:
    """This browser's live login session, if any."""
    found = session_id(call)
    if found is None:  # no cookie, or not ours: no session to read
        return None
    with (call.web if call is not None else context()).sessions() as db:
        return login_sessions.load(db, found)


def signed_in() -> login_sessions.ActiveSession:
    """This browser's live login session; refused (401 ``login_required``) without one."""
    active = active_session()
    if active is None:
        raise LoginRequiredError()
    return active


def set_login_cookie(response: Response, login_session_id: str) -> None:
    response.set_cookie(login_sessions.COOKIE_NAME,
                        login_sessions.cookie_value(context().cookie_secret, login_session_id),
                        httponly=True, samesite="Lax", secure=request.is_secure)


def login_cookie(call: Call, login_session_id: str) -> Cookie:
    """The login cookie naming ``login_session_id`` (as :func:`set_login_cookie` sets it)."""
    return Cookie(login_sessions.COOKIE_NAME,
                  login_sessions.cookie_value(call.web.cookie_secret, login_session_id))


# -- CSRF and bodies --------------------------------------------------------------------------
def session_bound_token(purpose: str, login_session_id: str) -> str:
    """The CSRF token of pages outside an interaction (/account, the logout confirmation): an
    HMAC of ``purpose`` and the login session id, worthless outside the session that got it."""
    return hmac.new(context().cookie_secret.encode(), f"{purpose}:{login_session_id}".encode(),
                    hashlib.sha256).hexdigest()


def session_csrf_token(active: login_sessions.ActiveSession) -> str:
    """The CSRF token of /account."""
    return session_bound_token("account", active.id)


def require_csrf(expected: str, presented: str | None = None, call: Call | None = None) -> None:
    """The token ``presented`` (a form field), else ``X-CSRF-Token``, must equal ``expected``
    (compared in constant time, as bytes: a header or field may hold any character)."""
    if presented is None:
        presented = (request.headers.get("X-CSRF-Token") if call is None
                     else call.header("X-CSRF-Token")) or ""
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise CsrfFailedError()


def json_or_none() -> Any:
    """The request's JSON body, or None when it is not JSON. A body nested deeper than the
    parser's recursion limit raises RecursionError, which Flask's ``silent`` parsing (it
    catches ValueError) lets through as a 500; it is no JSON this IdP reads either."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        return None


def json_object(call: Call | None = None) -> dict[str, Any]:
    """The request's JSON object; any other body is refused with :class:`BadBodyError`."""
    body = json_or_none() if call is None else call.json()
    if not isinstance(body, dict):
        raise BadBodyError()
    return body


def checked_json(expected_csrf: str, call: Call | None = None) -> dict[str, Any]:
    """The JSON object of a POST whose CSRF token is ``expected_csrf``."""
    require_csrf(expected_csrf, call=call)
    return json_object(call)
