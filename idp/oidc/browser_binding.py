"""Interactions belong to the browser that started them.

The authorize response that sends a browser to ``/interaction/{uid}`` also gives it the
``idp_browser`` cookie (HttpOnly, SameSite=Lax; the card requests bind to the same cookie) and
stores the cookie's SHA-256 on the interaction. Every interaction route (``/interaction/<uid>``
and below, whichever blueprint serves it) then refuses another browser: a leaked or phished
interaction URL is useless elsewhere, and so is its CSRF token (issue 5, cross-device safety).
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, request
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from idp import db as dbm
from idp.accounts.card_requests import BROWSER_COOKIE, browser_hash
from idp.oidc.errors import OidcError
from idp.oidc.models import Interaction

_AUTHORIZE = "oidc.authorize"
_INTERACTION_PATH = "/interaction/"


class OtherBrowserError(OidcError):
    """This sign-in was started in another browser: continue there, or start again here."""

    code = "wrong_browser"
    status = 403
    redirectable = False


def browser_cookie() -> str | None:
    return request.cookies.get(BROWSER_COOKIE)


def install(app: Flask, sessions: sessionmaker[Session], issuer: str) -> None:
    """Bind interactions as the authorize response leaves; check the binding on every use."""
    prefix = issuer + _INTERACTION_PATH

    @app.after_request
    def bind(response: Response) -> Response:
        if request.endpoint != _AUTHORIZE or response.status_code not in (302, 303):
            return response
        uid = _interaction_uid(response.headers.get("Location", ""), prefix)
        if uid is None:
            return response
        browser = browser_cookie() or secrets.token_urlsafe(24)
        with dbm.transaction(sessions) as db:
            db.execute(update(Interaction).where(
                Interaction.uid == uid, Interaction.browser_hash.is_(None))
                .values(browser_hash=browser_hash(browser)))
        response.set_cookie(BROWSER_COOKIE, browser, httponly=True, samesite="Lax",
                            secure=request.is_secure)
        return response

    @app.before_request
    def check() -> None:
        uid = (request.view_args or {}).get("uid")
        if uid is None or not request.path.startswith(_INTERACTION_PATH):
            return
        with sessions() as db:
            row = db.get(Interaction, uid)
            expected = row.browser_hash if row is not None else None
        if row is None:
            return  # the route answers "interaction not found" itself
        browser = browser_cookie()
        if expected is None or browser is None or not secrets.compare_digest(
                expected, browser_hash(browser)):
            raise OtherBrowserError()


def _interaction_uid(location: str, prefix: str) -> str | None:
    """``uid`` of a redirect to this IdP's ``/interaction/{uid}`` (never to a relying party)."""
    if not location.startswith(prefix):
        return None
    uid = location[len(prefix):].split("?")[0].split("/")[0]
    return uid or None
