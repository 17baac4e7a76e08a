"""The card side of the interaction: card requests, their status, and continuing after them.

- ``POST /interaction/{uid}/card|onboard|reissue|refresh_4info`` (browser, CSRF): create a card
  request for what the step needs and answer ``{"request_url"}``;
- the card app's side, ``GET|POST /card-requests/{id}``, is ``idp.web.card_app``;
- ``GET /interaction/{uid}/status`` and ``POST /interaction/{uid}/card/continue`` (browser):
  only the browser holding the binding cookie of the request learns its outcome and continues.

The status offers only what works next: ``continue`` after a card login or an onboarding (it
starts the login session), the interaction page (``redirect_to``) after a re-issue or a
consented 4-info refresh (the accepted answer re-anchored the private ID and raised the session
that asked for it: the step is done), and nothing once the interaction is over (404).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from idp import i18n
from idp.accounts.anchor_policy import AnchorState
from idp.accounts.card_requests import BROWSER_COOKIE
from idp.accounts.card_sign_in import FINISHED_BY_ANSWER, CardSignIns
from idp.accounts.terms import Agreement
from idp.assurance.policy import STEP_UP_REASONS
from idp.oidc.flow import Provider
from idp.web import request as web
from idp.web import signing, terms
from idp.web.actions import Action, post
from idp.web.card_app import open_request
from idp.web.interaction import checked_body
from idp.web.request import Call


def actions_hook(state: dict[str, Any], call: Call) -> dict[str, Action]:
    """``card``/``onboard`` (and ``agree`` to the terms first) at a login prompt, only ``card``
    for a step-up that the card can meet (idp.assurance.policy), none for a passkey step-up;
    ``reissue``/``refresh_4info``/``skip`` when the anchor needs a re-issue."""
    uid = state["uid"]
    if state["prompt"] == "login":
        reasons = state.get("reasons", ())
        if "step_up_passkey" in reasons and "step_up_card" not in reasons:
            return {}  # the card is not phishing resistant: only a passkey meets the request
        card = {"card": post(call.url("card.card", uid=uid)), **terms.actions(uid, call)}
        if any(r.startswith("step_up_") for r in reasons):
            return card  # a step-up of this person's session: no onboarding
        return {**card, "onboard": post(call.url("card.onboard", uid=uid))}
    anchor = (state.get("account") or {}).get("anchor") or {}
    if anchor.get("state") == AnchorState.NEEDS_REISSUE.value:
        return {"reissue": post(call.url("card.reissue", uid=uid)),
                "refresh_4info": post(call.url("card.refresh_4info", uid=uid)),
                "skip": post(call.url("card.skip", uid=uid))}
    return {}


def blueprint(ix: Provider, sign_ins: CardSignIns) -> Blueprint:
    bp = Blueprint("card", __name__)

    def new_request(uid: str, purpose: str, *, needs_session: bool = False,
                    consent_text: str | None = None,
                    agreement: Agreement | None = None) -> ResponseReturnValue:
        ix.state(uid, web.session_id())  # the interaction exists and is open
        return open_request(sign_ins, uid=uid, purpose=purpose,
                            asking=web.signed_in() if needs_session else None,
                            consent_text=consent_text, terms=agreement)

    @bp.post("/interaction/<uid>/card")
    def card(uid: str) -> ResponseReturnValue:
        checked_body(ix, uid)
        return new_request(uid, "login")

    @bp.post("/interaction/<uid>/onboard")
    def onboard(uid: str) -> ResponseReturnValue:
        checked_body(ix, uid)
        return new_request(uid, "onboard", agreement=terms.required_agreement(uid))

    @bp.post("/interaction/<uid>/reissue")
    def reissue(uid: str) -> ResponseReturnValue:
        checked_body(ix, uid)
        return new_request(uid, "reissue", needs_session=True)

    @bp.post("/interaction/<uid>/refresh_4info")
    def refresh_4info(uid: str) -> ResponseReturnValue:
        body = checked_body(ix, uid)
        text = i18n.translate(web.language(), "card.consent.basic4")
        if body.get("approve") is not True:
            return jsonify({"consent_text": text, "message": i18n.translate(
                web.language(), "card.consent.ask")})
        return new_request(uid, "consent", needs_session=True, consent_text=text)

    @bp.post("/interaction/<uid>/skip")
    def skip(uid: str) -> ResponseReturnValue:
        checked_body(ix, uid)
        return jsonify({"redirect_to": ix.resume(uid, web.session_id())})

    @bp.get("/interaction/<uid>/status")
    def status(uid: str) -> ResponseReturnValue:
        ix.csrf_token(uid)  # the interaction is still open, else 404: nothing is left to do
        found = sign_ins.latest(uid, request.cookies.get(BROWSER_COOKIE))
        body: dict[str, Any] = {"request_id": found.request_id, "purpose": found.purpose,
                                "status": found.outcome or "pending"}
        if found.outcome == "refused":
            code = found.error_code or "invalid_request"
            key = f"error.{code}"
            body.update(error=code, error_description=i18n.translate(web.language(), key)
                        if key in i18n.catalogue("ja") else found.error_description)
        elif found.outcome == "accepted" and found.purpose in FINISHED_BY_ANSWER:
            if found.continued:  # the session's level raised (CardSignIns.after_answer)
                body["redirect_to"] = web.issuer_url("login.show", uid=uid)
        elif found.outcome == "accepted" and not found.continued:
            body["actions"] = {"continue": post(url_for("card.proceed", uid=uid))}
        if found.purpose == "sign" and not found.continued and found.outcome is not None:
            body["actions"] = {"continue": post(signing.continue_href(uid))}  # code or refusal
        return jsonify(body)

    @bp.post("/interaction/<uid>/card/continue")
    def proceed(uid: str) -> ResponseReturnValue:
        checked_body(ix, uid)
        done = sign_ins.finish(uid, request.cookies.get(BROWSER_COOKIE),
                               expected_private_id=_stepping_up(ix, uid),
                               asked=lambda: ix.requested_ial(uid))
        active, _ = ix.log_in(uid, private_id=done.private_id, acr=done.level.acr.value,
                              amr=list(done.level.amr), continue_if_done=False)
        check = done.check
        response = jsonify({"redirect_to": web.issuer_url("login.show", uid=uid),
                            "anchor": {"state": check.state.value, "reason": check.reason,
                                       "next_step": check.next_step}})
        web.set_login_cookie(response, active.id)
        return response

    return bp


def _stepping_up(ix: Provider, uid: str) -> str | None:
    """The signed-in person whose session this card login is to raise (a step-up), or None."""
    state = ix.state(uid, web.session_id())
    if not any(reason in STEP_UP_REASONS for reason in state["reasons"]):
        return None
    active = web.active_session()
    return active.private_id if active else None
