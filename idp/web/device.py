"""The device authorization grant's web side (RFC 8628; the core is ``idp.oidc.device``).

- ``POST /device_authorization`` (the device, form-encoded, §3.1): a public device client by its
  client_id; every request counted per address and a flood refused (429).
- ``GET /device`` (the person's phone or computer, §3.3): the page where the user code is typed,
  prefilled from ``verification_uri_complete``; its JSON face offers the ``user_code`` action.
- ``POST /device`` (``{"user_code"}``, CSRF): a known code starts an ordinary interaction for the
  device's client, bound to this browser, and answers ``{"redirect_to": "/interaction/{uid}"}``;
  unknown or expired codes are counted per address and per browser and throttled (§5.1).
- The interaction then runs the usual login and consent steps and ends with ``approve`` /
  ``deny`` (``POST /interaction/{uid}/approve|deny``), opened by :func:`actions_hook`.
- ``GET /device/done``: what happened, in the person's words ("return to your TV").
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request, session, url_for

from idp import i18n
from idp.accounts.card_requests import browser_hash
from idp.errors import CsrfFailedError
from idp.oidc import device, device_codes
from idp.oidc.errors import InvalidUserCodeError, TooManyDeviceRequestsError
from idp.oidc.flow import Provider
from idp.throttle import FailureThrottle, TooManyAttemptsError
from idp.web import binding
from idp.web import request as web
from idp.web.actions import Action, post
from idp.web.headers import NO_STORE
from idp.web.interaction import checked_body
from idp.web.oidc import authenticated_client, single_valued_form
from idp.web.request import Call

_PURPOSE = "device"  # of the /device page's CSRF token (bound to the browser cookie)
_TYPED = "device_codes"  # Flask session: {uid: the user code typed}, the approval shows it
_KEPT = 5  # device interactions remembered per browser (the cookie stays small)
_DONE = frozenset({"approved", "access_denied", "unmet_authentication_requirements",
                   "login_required", "consent_required"})


def actions_hook(state: dict[str, Any], call: Call) -> dict[str, Action]:
    """``approve`` / ``deny`` once the person has signed in and consented for a device."""
    if state["prompt"] != "approve":
        return {}
    uid = state["uid"]
    return {"approve": post(call.url("device.approve", uid=uid)),
            "deny": post(call.url("device.deny", uid=uid))}


def face_hook(state: dict[str, Any], call: Call) -> dict[str, Any]:
    """The code this browser typed, shown again at the approval so that the person can compare
    it with their TV. Kept in the browser's own (signed) session cookie: the IdP stores user
    codes hashed only."""
    if "device" not in state:
        return {}
    typed = call.session.get(_TYPED, {}).get(state["uid"])
    return {"device": {"user_code": typed}} if typed else {"device": {}}


def _remember_typed(uid: str, user_code: str) -> None:
    kept = list(session.get(_TYPED, {}).items())[-_KEPT + 1:]
    session[_TYPED] = {**dict(kept), uid: user_code}


def blueprint(provider: Provider, user_codes: FailureThrottle,
              requests: FailureThrottle) -> Blueprint:
    ctx = provider.ctx
    bp = Blueprint("device", __name__)

    @bp.post("/device_authorization")
    def authorization() -> Any:
        address = request.remote_addr or ""
        try:  # every request counts: a flood from one address is refused until its window ends
            requests.refuse_if_locked(address)
        except TooManyAttemptsError as error:
            raise TooManyDeviceRequestsError(int(error.retry_after)) from None
        requests.failed(address)
        form = single_valued_form()
        client = authenticated_client(ctx, form)
        response = jsonify(device.start(ctx, client, form))
        response.headers.extend(NO_STORE)
        return response

    @bp.get("/device")
    def page() -> Any:
        browser = binding.browser_binding()
        typed = request.args.get("user_code", "")
        face = _face(browser, _shown(typed), web.language())
        if web.wants_json():
            response: Response = jsonify(face)
        else:
            response = Response(render_template(
                "device/enter.html", face=face, lang=web.language(),
                t=web.translator(web.language())))
        binding.set_browser_cookie(response, browser)
        return response

    @bp.post("/device")
    def enter() -> Any:
        browser = binding.browser_cookie()
        if browser is None:
            raise CsrfFailedError()
        body = web.checked_json(web.session_bound_token(_PURPOSE, browser))
        typed = body.get("user_code")
        if not isinstance(typed, str) or len(typed) > 64:
            raise InvalidUserCodeError('send {"user_code": "BCDF-GHJK"}')
        address = request.remote_addr or ""
        with user_codes.attempt(f"address {address}", counts=(InvalidUserCodeError,)), \
                user_codes.attempt(f"browser {browser_hash(browser)}",
                                   counts=(InvalidUserCodeError,)):
            pending = device.find(ctx, typed)
        binding.bind_new_interaction(browser)
        location = provider.start_device(pending)
        _remember_typed(location.rsplit("/", 1)[-1], device_codes.display(pending.user_code))
        response = jsonify({"redirect_to": location})
        binding.set_browser_cookie(response, browser)
        return response

    @bp.post("/interaction/<uid>/approve")
    def approve(uid: str) -> Any:
        checked_body(provider, uid)
        return jsonify({"redirect_to": provider.approve_device(uid, web.session_id(),
                                                               approve=True)})

    @bp.post("/interaction/<uid>/deny")
    def deny(uid: str) -> Any:
        checked_body(provider, uid)
        return jsonify({"redirect_to": provider.approve_device(uid, web.session_id(),
                                                               approve=False)})

    @bp.get("/device/done")
    def done() -> Any:
        outcome = request.args.get("status") or request.args.get("error") or ""
        outcome = outcome if outcome in _DONE else "access_denied"
        language = web.language()
        face = {"prompt": "done", "status": "approved" if outcome == "approved" else "denied",
                "message": i18n.translate(language, f"device.done.{outcome}"),
                "actions": {"start_again": {"method": "GET", "href": url_for("device.page")}}}
        if web.wants_json():
            return jsonify(face)
        return render_template("device/done.html", face=face, lang=language,
                               t=web.translator(language))

    return bp


def _shown(typed: str) -> str:
    """A code from ``verification_uri_complete`` as the person would type it (``BCDF-GHJK``);
    anything else is left for the person to correct, cut to a code's length."""
    try:
        return device_codes.display(device_codes.normalise(typed))
    except device_codes.UserCodeFormatError:
        return typed[:16]


def _face(browser: str, user_code: str, language: str) -> dict[str, Any]:
    return {"prompt": "user_code", "user_code": user_code,
            "message": i18n.translate(language, "device.enter"),
            "csrf_token": web.session_bound_token(_PURPOSE, browser),
            "actions": {"user_code": post(url_for("device.enter"))}}
