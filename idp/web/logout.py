"""``/logout`` (RP-Initiated Logout 1.0): end the session at once when the relying party speaks
for it, ask the person otherwise.

Any site can send a browser to ``GET /logout``. RP-Initiated Logout 1.0 §2: without an
``id_token_hint`` naming the current session, the OP asks the person whether to log out. So:

- no live session in this browser, or an ``id_token_hint`` whose ``sid`` names it: the session
  ends at once (back-channel logout tokens go out) and the browser returns to the registered
  ``post_logout_redirect_uri`` with ``state``, or sees the signed-out page;
- otherwise (no hint, another session's hint): a page asks, in the person's language. Its form
  POSTs ``/logout/confirm`` with the request's parameters (checked again there, as on the first
  visit) and a CSRF token bound to the login session (``web.request.session_bound_token``); a
  POST without it, or with another, is refused (403 ``csrf_failed``).

A bad ``id_token_hint`` or an unregistered ``post_logout_redirect_uri`` is refused before
anything is asked (``idp.oidc.logout.check_request``).
"""

from __future__ import annotations

from flask import make_response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from idp.accounts import sessions as login_sessions
from idp.errors import CsrfFailedError
from idp.oidc import logout
from idp.oidc.context import OidcContext
from idp.web import request as web

_PURPOSE = "logout"  # of the confirmation's CSRF token


def end_session(ctx: OidcContext) -> Response:
    """``GET|POST /logout``: end at once, or ask."""
    checked = logout.check_request(ctx, request.values.to_dict())
    active = web.active_session()
    if active is None or checked.names_session(active.id):
        return _ended(ctx, checked, web.session_id())
    language = web.language()
    return make_response(render_template(
        "oidc/logout_confirm.html", lang=language, t=web.translator(language),
        fields=checked.params, csrf_token=web.session_bound_token(_PURPOSE, active.id),
        action=url_for("oidc.confirm_logout", lang=request.args.get("lang"))))


def confirm(ctx: OidcContext) -> Response:
    """``POST /logout/confirm``: the person said yes on the page ``end_session`` showed."""
    session_id = web.session_id()
    if session_id is None:  # no login session: no token can be right
        raise CsrfFailedError()
    web.require_csrf(web.session_bound_token(_PURPOSE, session_id),
                     presented=request.form.get("csrf_token"))
    return _ended(ctx, logout.check_request(ctx, request.form.to_dict()), session_id)


def _ended(ctx: OidcContext, checked: logout.LogoutRequest, session_id: str | None) -> Response:
    outcome = logout.end_session(ctx, checked, session_id)
    response = redirect(outcome.redirect_to, code=303) if outcome.redirect_to else \
        make_response(render_template("oidc/logged_out.html"))
    response.delete_cookie(login_sessions.COOKIE_NAME)
    return response
