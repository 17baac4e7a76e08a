"""Interactions belong to the browser that started them.

The authorize response that sends a browser to ``/interaction/{uid}`` also gives it the
``idp_browser`` cookie (HttpOnly, SameSite=Lax; the card requests bind to the same cookie) and
stores the cookie's SHA-256 on the interaction. Every interaction route (``/interaction/<uid>``
and below, whichever blueprint serves it) then refuses another browser: a leaked or phished
interaction URL is useless elsewhere, and so is its CSRF token (issue 5, cross-device safety).

The IdP mints every binding value itself: a random nonce with an HMAC of the instance secret
(``nonce.mac``). A browser's cookie is adopted for a new interaction or card request only when
its MAC verifies, so the tabs of one browser share one binding while a value planted by another
site (cookie tossing from a sibling domain, a fixed value in a link) is never the one an
interaction is bound to: the browser gets a fresh one instead. The check of a request against a
bound interaction compares the cookie's hash with the stored one, which a planted value cannot
match.

The interaction row is read once per request (:class:`RequestInteractions`, on ``flask.g``): the
binding check loads it and the route that follows (state, CSRF token, resume) reuses it, instead
of one read for the check and another for the route. The authorize request picks the browser's
cookie value before the interaction exists, so the row is written bound, in the authorize's own
transaction; its response only sets the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from flask import Flask, Response, g, has_request_context, request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from idp.accounts.card_requests import BROWSER_COOKIE, browser_hash
from idp.errors import WrongBrowserError
from idp.oidc.interaction_rows import InteractionRow, read, read_alone
from idp.web import request as web

AUTHORIZE = "oidc.authorize"
_AUTHORIZE = AUTHORIZE
_INTERACTION_PATH = "/interaction/"
_ROWS = "idp_interactions"  # flask.g: {uid: InteractionRow | None} loaded in this request
_BROWSER = "idp_browser"  # flask.g: the cookie value this authorize request binds to


@dataclass
class _FastRequest:
    """What flask.g holds for binding, for a request the fast path (``idp.web.fast``) serves."""

    rows: dict[str, InteractionRow | None] = field(default_factory=dict)
    browser: str | None = None  # the cookie value a new interaction is bound to (authorize)


_FAST: ContextVar[_FastRequest | None] = ContextVar("idp_fast_binding", default=None)


def browser_cookie() -> str | None:
    """The binding cookie as this browser sent it (checked against a bound interaction's hash)."""
    return request.cookies.get(BROWSER_COOKIE)


def browser_binding() -> str:
    """What a new interaction or card request is bound to: this browser's binding cookie when
    this IdP minted it, else a newly minted value."""
    return binding_for(browser_cookie(), web.context().cookie_secret)


def binding_for(presented: str | None, secret: str) -> str:
    """:func:`browser_binding` for the cookie value ``presented``."""
    if presented is not None:
        nonce, _, mac = presented.partition(".")
        if nonce and hmac.compare_digest(mac.encode(), _mac(nonce, secret).encode()):
            return presented
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_mac(nonce, secret)}"


def bind_new_interaction(browser: str) -> None:
    """Bind the interaction this request makes (as /authorize does) to ``browser``: a value
    :func:`browser_binding` gave, whose cookie the route then sets (the /device page)."""
    g.setdefault(_BROWSER, browser)


def set_browser_cookie(response: Response, browser: str) -> None:
    response.set_cookie(BROWSER_COOKIE, browser, httponly=True, samesite="Lax",
                        secure=request.is_secure)


def _mac(nonce: str, secret: str) -> str:
    return hmac.new(secret.encode(), f"{BROWSER_COOKIE}:{nonce}".encode(),
                    hashlib.sha256).hexdigest()


class RequestInteractions:
    """Interaction rows as this request sees them (the provider's loader).

    A row is read at most once per request and kept on ``flask.g``, which lives for one request
    only: nothing is shared between requests or browsers. Outside a request it reads each time.
    """

    def load(self, db: Session, uid: str) -> InteractionRow | None:
        return self._kept(uid, lambda: read(db, uid))

    def first_look(self, engine: Engine, uid: str) -> InteractionRow | None:
        """As :meth:`load`, read alone (no unit of work): the browser check at the start of an
        interaction request, before any other statement."""
        return self._kept(uid, lambda: read_alone(engine, uid))

    @staticmethod
    def _kept(uid: str, reading: Callable[[], InteractionRow | None]) -> InteractionRow | None:
        rows = _rows()
        if rows is None:
            return reading()
        if uid not in rows:
            rows[uid] = reading()
        return rows[uid]

    def forget(self, uid: str) -> None:
        """The row changed (finished): a later load in this request reads it again."""
        rows = _rows()
        if rows is not None:
            rows.pop(uid, None)

    def browser_hash(self) -> str | None:
        """What a new interaction is bound to: this authorize request's browser cookie."""
        if has_request_context():
            browser = g.get(_BROWSER)
        else:
            fast = _FAST.get()
            browser = fast.browser if fast is not None else None
        return browser_hash(browser) if browser else None


def _rows() -> dict[str, InteractionRow | None] | None:
    """This request's rows: on flask.g, or the fast path's; None outside a request."""
    if has_request_context():
        found: dict[str, InteractionRow | None] = g.setdefault(_ROWS, {})
        return found
    fast = _FAST.get()
    return fast.rows if fast is not None else None


@contextmanager
def fast_request(browser: str | None = None) -> Iterator[None]:
    """The request the fast path serves in this block: rows read once, and ``browser`` the
    binding of an interaction it makes (as :func:`install`'s hooks keep them on flask.g)."""
    token = _FAST.set(_FastRequest(browser=browser))
    try:
        yield
    finally:
        _FAST.reset(token)


def check_browser(row: InteractionRow | None, browser: str | None) -> None:
    """Refuse a bound interaction to any browser but its own (``browser``: its cookie); an
    unknown interaction passes (the route answers "interaction not found" itself)."""
    if row is None:
        return
    expected = row.browser_hash
    if expected is None or browser is None or not secrets.compare_digest(
            expected, browser_hash(browser)):
        raise WrongBrowserError()


def install(app: Flask, sessions: sessionmaker[Session], issuer: str) -> None:
    """Bind interactions as the authorize request makes them; check the binding on every use."""
    prefix = issuer + _INTERACTION_PATH
    rows = RequestInteractions()
    engine: Engine = sessions.kw["bind"]  # the check is one SELECT by primary key

    @app.before_request
    def choose_browser() -> None:
        if request.endpoint == _AUTHORIZE:
            g.setdefault(_BROWSER, browser_binding())

    @app.after_request
    def bind(response: Response) -> Response:
        if request.endpoint != _AUTHORIZE:
            return response
        browser = g.get(_BROWSER)
        if browser is None or not binds_browser(response.status_code,
                                                response.headers.get("Location", ""), prefix):
            return response
        set_browser_cookie(response, browser)
        return response

    @app.before_request
    def check() -> None:
        uid = (request.view_args or {}).get("uid")
        if uid is None or not request.path.startswith(_INTERACTION_PATH):
            return
        check_browser(rows.first_look(engine, uid), browser_cookie())


def binds_browser(status: int, location: str, prefix: str) -> bool:
    """An authorize answer that sends the browser to its interaction gets the binding cookie."""
    return status in (302, 303) and _interaction_uid(location, prefix) is not None


def _interaction_uid(location: str, prefix: str) -> str | None:
    """``uid`` of a redirect to this IdP's ``/interaction/{uid}`` (never to a relying party)."""
    if not location.startswith(prefix):
        return None
    uid = location[len(prefix):].split("?")[0].split("/")[0]
    return uid or None
