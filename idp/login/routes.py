"""``/interaction/{uid}``: one page per step, each with a JSON face (contract.md).

``Accept: application/json`` gets the step's state and the actions open now as links; every
POST needs the state's ``csrf_token`` in ``X-CSRF-Token`` and a JSON body, and answers
``{"redirect_to": URL}``. Login methods (card, passkeys) arrive with the next issue; until then
a login prompt offers only ``abort``.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, request, url_for

from idp import i18n
from idp.accounts import sessions as login_sessions
from idp.errors import IdpError
from idp.login.actions import ActionsHook, collect
from idp.login.ports import Interactions


class LoginError(IdpError):
    """The sign-in step was refused."""


class CsrfRefusedError(LoginError):
    """The X-CSRF-Token header or the JSON body is missing or wrong; reload the page."""

    code = "csrf_failed"
    status = 403


class BadBodyError(LoginError):
    """The body must be JSON of the documented shape."""


def json_or_none() -> Any:
    """The request's JSON body, or None when it is not JSON. A body nested deeper than the
    parser's recursion limit raises RecursionError, which Flask's ``silent`` parsing (it
    catches ValueError) lets through as a 500; it is no JSON this IdP reads either."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        return None


def json_object() -> dict[str, Any]:
    """The request's JSON object; any other body is refused with :class:`BadBodyError`."""
    body = json_or_none()
    if not isinstance(body, dict):
        raise BadBodyError()
    return body


def blueprint(interactions: Interactions, cookie_secret: str, default_language: str,
              action_hooks: tuple[ActionsHook, ...] = ()) -> Blueprint:
    bp = Blueprint("login", __name__)

    def session_id() -> str | None:
        return login_sessions.session_id_from_cookie(
            cookie_secret, request.cookies.get(login_sessions.COOKIE_NAME))

    def language() -> str:
        return i18n.choose(request.args.get("lang"), request.cookies.get("lang"),
                           request.headers.get("Accept-Language"), default_language)

    def wants_json() -> bool:
        return request.accept_mimetypes.best == "application/json"

    def checked_body(uid: str) -> dict[str, Any]:
        token = request.headers.get("X-CSRF-Token", "")
        if not hmac.compare_digest(token, interactions.csrf_token(uid)):
            raise CsrfRefusedError()
        return json_object()

    @bp.get("/interaction/<uid>")
    def show(uid: str) -> Any:
        state = interactions.state(uid, session_id())
        # A finished login may still hold an optional step (the passkey offer) open.
        if state["prompt"] == "done" and not collect(action_hooks, state):
            target = interactions.resume(uid, session_id())
            return jsonify({"uid": uid, "prompt": "done", "redirect_to": target}) \
                if wants_json() else redirect(target, code=303)
        face = _face(state, language(), action_hooks)
        if wants_json():
            return jsonify(face)
        response = render_template("login/interaction.html", face=face, lang=language(),
                                   t=lambda key, **v: i18n.translate(language(), key, **v))
        return response

    @bp.post("/interaction/<uid>/consent")
    def consent(uid: str) -> Any:
        body = checked_body(uid)
        approve, claims = body.get("approve"), body.get("claims", [])
        if not isinstance(approve, bool) or not isinstance(claims, list) or not all(
                isinstance(c, str) for c in claims):
            raise BadBodyError('send {"approve": true|false, "claims": ["name", ...]}')
        target = interactions.consent(uid, session_id(), approve=approve, claims=claims)
        return jsonify({"redirect_to": target})

    @bp.post("/interaction/<uid>/abort")
    def abort(uid: str) -> Any:
        checked_body(uid)
        return jsonify({"redirect_to": interactions.abort(uid)})

    return bp


def _face(state: dict[str, Any], language: str, hooks: tuple[ActionsHook, ...]) -> \
        dict[str, Any]:
    uid, prompt = state["uid"], state["prompt"]
    client_name = state["client"]["name"]
    actions = {"abort": {"method": "POST", "href": url_for("login.abort", uid=uid)}}
    actions.update(collect(hooks, state))
    if prompt == "reissue":
        message = i18n.translate(language, "prompt.reissue", client=client_name)
    elif prompt == "consent":
        actions["consent"] = {"method": "POST", "href": url_for("login.consent", uid=uid)}
        message = i18n.translate(language, "prompt.consent", client=client_name)
    elif prompt == "done":
        message = i18n.translate(language, "prompt.done.optional", client=client_name)
    else:
        message = i18n.translate(language, "prompt.login", client=client_name)
        if len(actions) == 1:  # only abort: no login method is open
            message += " " + i18n.translate(language, "prompt.login.unavailable")
    face = {key: state[key] for key in ("uid", "prompt", "reasons", "client", "requested",
                                        "csrf_token")}
    if state.get("account"):
        face["account"] = state["account"]
    face["message"] = message
    face["actions"] = actions
    face["claim_labels"] = {c: i18n.translate(language, f"claim.{c}")
                            for c in state["requested"]["claims"]}
    return face
