"""Signing a document with the card (RFC 9396 ``jpki_signature``): the interaction's last step.

- ``POST /interaction/{uid}/sign`` (browser, CSRF, signed in): a card request of purpose
  ``sign`` for the request's document, bound to this browser and the signed-in person; answers
  ``{"request_url", ...}`` like every card action;
- ``POST /interaction/{uid}/sign/continue``: offered by the status once the card answered.
  Accepted: the signature is continued once and the code issued (its grant carries the
  ``authorization_details``). Refused (a revoked signing certificate, another person's card, a
  bad signature): the relying party gets ``access_denied`` with the reason, and the page has
  already shown the person why (the status' localised ``error_description``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from idp.accounts.card_requests import BROWSER_COOKIE
from idp.accounts.card_sign_in import CardSignIns
from idp.accounts.errors import NotAnsweredError
from idp.oidc.flow import Provider
from idp.oidc.signing_details import InvalidAuthorizationDetailsError
from idp.web import request as web
from idp.web.actions import Action, post
from idp.web.card_app import open_request
from idp.web.interaction import checked_body
from idp.web.request import Call


def actions_hook(state: dict[str, Any], call: Call) -> dict[str, Action]:
    """``sign`` while the request's document waits for the person's signature."""
    if state["prompt"] != "sign":
        return {}
    return {"sign": post(call.url("signing.sign", uid=state["uid"]))}


def continue_href(uid: str) -> str:
    return url_for("signing.proceed", uid=uid)


def blueprint(ix: Provider, sign_ins: CardSignIns) -> Blueprint:
    bp = Blueprint("signing", __name__)

    @bp.post("/interaction/<uid>/sign")
    def sign(uid: str) -> ResponseReturnValue:
        checked_body(ix, uid)
        state = ix.state(uid, web.session_id())
        if state["prompt"] != "sign":
            raise InvalidAuthorizationDetailsError("this interaction has no document to sign now")
        return open_request(sign_ins, uid=uid, purpose="sign", asking=web.signed_in(),
                            document=state["document"])

    @bp.post("/interaction/<uid>/sign/continue")
    def proceed(uid: str) -> ResponseReturnValue:
        checked_body(ix, uid)
        browser = request.cookies.get(BROWSER_COOKIE)
        found = sign_ins.latest(uid, browser)
        if found.purpose != "sign" or found.outcome is None:
            raise NotAnsweredError()
        if found.outcome == "refused":
            reason = (f"the document was not signed: {found.error_description} "
                      f"({found.error_code})")
            return jsonify({"redirect_to": ix.abort(uid, reason)})
        sign_ins.continue_signature(uid, browser)
        return jsonify({"redirect_to": ix.resume(uid, web.session_id())})

    return bp
