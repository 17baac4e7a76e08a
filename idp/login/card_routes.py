"""The card side of the interaction: card requests, their status, and continuing after them.

- ``POST /interaction/{uid}/card|onboard|reissue|refresh_4info`` (browser, CSRF): create a card
  request for what the step needs and answer ``{"request_url"}``;
- the card app's side, ``GET|POST /card-requests/{id}``, is ``card_app_routes``;
- ``GET /interaction/{uid}/status`` and ``POST /interaction/{uid}/card/continue`` (browser):
  only the browser holding the binding cookie of the request learns its outcome and continues.

The status offers only what works next: ``continue`` after a card login or an onboarding (it
starts the login session), the interaction page (``redirect_to``) after a re-issue or a
consented 4-info refresh (the accepted answer re-anchored the private ID and raised the session
that asked for it: the step is done), and nothing once the interaction is over (404).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session, sessionmaker

from idp import db as dbm
from idp import i18n
from idp.accounts import card_requests
from idp.accounts import sessions as login_sessions
from idp.accounts.anchor_check import AnchorCheck, AnchorChecker, CertAnswer
from idp.accounts.anchor_policy import AnchorState, CertStatus
from idp.accounts.card_answers import CardAnswers, default_steps
from idp.accounts.card_requests import BROWSER_COOKIE
from idp.accounts.errors import (
    AccountClosedError,
    AccountSuspendedError,
    NotAnsweredError,
    NotSignedInError,
    WrongBrowserError,
)
from idp.accounts.terms import Agreement
from idp.assurance.levels import IAL1_AAL2, IAL2_AAL2, AcrLevel
from idp.login import terms_routes
from idp.login.actions import Action, ActionsHook, post
from idp.login.card_app_routes import blueprint as card_app_blueprint
from idp.login.card_app_routes import request_links
from idp.login.card_services import LazyTrust
from idp.login.ports import Interactions
from idp.settings import Settings

CARD_AMR = ["hwk", "pin", "mfa"]  # docs/assurance.md: the card with its PIN
# Purposes whose accepted answer finishes the step by itself (_raise_session): no ``continue``.
FINISHED_BY_ANSWER = frozenset({"reissue", "consent"})


@dataclass(frozen=True)
class CardFlow:
    interactions: Interactions
    sessions: sessionmaker[Session]
    answers: CardAnswers
    checker: AnchorChecker
    cookie_secret: str
    issuer: str
    session_lifetime: int
    default_language: str


def install(app: Flask, flow: CardFlow) -> ActionsHook:
    app.register_blueprint(_blueprint(flow))
    app.register_blueprint(terms_routes.blueprint(flow.interactions, lambda: i18n.choose(
        request.args.get("lang"), request.cookies.get("lang"),
        request.headers.get("Accept-Language"), flow.default_language)))
    return actions_hook


def actions_hook(state: dict[str, Any]) -> dict[str, Action]:
    """``card``/``onboard`` (and ``agree`` to the terms first) at a login prompt;
    ``reissue``/``refresh_4info``/``skip`` when the anchor needs a re-issue."""
    uid = state["uid"]
    if state["prompt"] == "login":
        return {"card": post(url_for("card.card", uid=uid)), **terms_routes.actions(uid),
                "onboard": post(url_for("card.onboard", uid=uid))}
    anchor = (state.get("account") or {}).get("anchor") or {}
    if anchor.get("state") == AnchorState.NEEDS_REISSUE.value:
        return {"reissue": post(url_for("card.reissue", uid=uid)),
                "refresh_4info": post(url_for("card.refresh_4info", uid=uid)),
                "skip": post(url_for("card.skip", uid=uid))}
    return {}


def _blueprint(flow: CardFlow) -> Blueprint:
    bp = Blueprint("card", __name__)
    ix = flow.interactions

    def session_id() -> str | None:
        return login_sessions.session_id_from_cookie(
            flow.cookie_secret, request.cookies.get(login_sessions.COOKIE_NAME))

    def language() -> str:
        return i18n.choose(request.args.get("lang"), request.cookies.get("lang"),
                           request.headers.get("Accept-Language"), flow.default_language)

    def checked_body(uid: str) -> dict[str, Any]:
        return terms_routes.checked_body(ix, uid)

    def new_request(uid: str, purpose: str, *, needs_session: bool = False,
                    consent_text: str | None = None,
                    terms: Agreement | None = None) -> ResponseReturnValue:
        ix.state(uid, session_id())  # the interaction exists and is open
        active = _signed_in(flow, session_id()) if needs_session else None
        browser = request.cookies.get(BROWSER_COOKIE) or secrets.token_urlsafe(24)
        with dbm.transaction(flow.sessions) as db:
            row = card_requests.create(db, uid=uid, browser=browser, purpose=purpose,
                                       private_id=active.private_id if active else None,
                                       session_id=active.id if active else None,
                                       consent_text=consent_text, terms=terms)
            request_id = row.id
        response = jsonify(request_links(request_id))
        response.set_cookie(BROWSER_COOKIE, browser, httponly=True, samesite="Lax",
                            secure=request.is_secure)
        return response

    @bp.post("/interaction/<uid>/card")
    def card(uid: str) -> ResponseReturnValue:
        checked_body(uid)
        return new_request(uid, "login")

    @bp.post("/interaction/<uid>/onboard")
    def onboard(uid: str) -> ResponseReturnValue:
        checked_body(uid)
        return new_request(uid, "onboard", terms=terms_routes.required_agreement(uid))

    @bp.post("/interaction/<uid>/reissue")
    def reissue(uid: str) -> ResponseReturnValue:
        checked_body(uid)
        return new_request(uid, "reissue", needs_session=True)

    @bp.post("/interaction/<uid>/refresh_4info")
    def refresh_4info(uid: str) -> ResponseReturnValue:
        body = checked_body(uid)
        text = i18n.translate(language(), "card.consent.basic4")
        if body.get("approve") is not True:
            return jsonify({"consent_text": text, "message": i18n.translate(
                language(), "card.consent.ask")})
        return new_request(uid, "consent", needs_session=True, consent_text=text)

    @bp.post("/interaction/<uid>/skip")
    def skip(uid: str) -> ResponseReturnValue:
        checked_body(uid)
        return jsonify({"redirect_to": ix.resume(uid, session_id())})

    @bp.get("/interaction/<uid>/status")
    def status(uid: str) -> ResponseReturnValue:
        ix.csrf_token(uid)  # the interaction is still open, else 404: nothing is left to do
        with flow.sessions() as db:
            row = _bound_request(db, uid)
            body: dict[str, Any] = {"request_id": row.id, "purpose": row.purpose,
                                    "status": row.outcome or "pending"}
            if row.outcome == "refused":
                code = row.error_code or "invalid_request"
                key = f"error.{code}"
                body.update(error=code, error_description=i18n.translate(language(), key)
                            if key in i18n.catalogue("ja") else row.error_description)
            elif row.outcome == "accepted" and row.purpose in FINISHED_BY_ANSWER:
                body["redirect_to"] = url_for("login.show", uid=uid, _external=True)
            elif row.outcome == "accepted" and not row.continued:
                body["actions"] = {"continue": post(url_for("card.proceed", uid=uid))}
        return jsonify(body)

    @bp.post("/interaction/<uid>/card/continue")
    def proceed(uid: str) -> ResponseReturnValue:
        checked_body(uid)
        with flow.sessions() as db:
            row = _bound_request(db, uid)
            request_id, purpose, result = row.id, row.purpose, dict(row.result or {})
        private_id = str(result.get("private_id", ""))
        with dbm.transaction(flow.sessions) as db:
            if not private_id or not card_requests.mark_continued(db, request_id):
                raise NotAnsweredError()
        check, acr = _card_level(flow, private_id, purpose)
        active, _ = ix.log_in(uid, private_id=private_id, acr=acr.value, amr=list(CARD_AMR),
                              continue_if_done=False)
        response = jsonify({"redirect_to": url_for("login.show", uid=uid, _external=True),
                            "anchor": {"state": check.state.value, "reason": check.reason,
                                       "next_step": check.next_step}})
        response.set_cookie(login_sessions.COOKIE_NAME,
                            login_sessions.cookie_value(flow.cookie_secret, active.id),
                            httponly=True, samesite="Lax", secure=request.is_secure)
        return response

    return bp


def _bound_request(db: Session, uid: str) -> Any:
    """The browser's latest card request of this interaction; another browser gets none."""
    browser = request.cookies.get(BROWSER_COOKIE)
    row = card_requests.latest_for(db, uid, browser) if browser else None
    if row is None:
        raise WrongBrowserError()
    return row


def _signed_in(flow: CardFlow, session_id: str | None) -> login_sessions.ActiveSession:
    with flow.sessions() as db:
        active = login_sessions.load(db, session_id)
    if active is None:
        raise NotSignedInError()
    return active


def _card_level(flow: CardFlow, private_id: str, purpose: str) -> tuple[AnchorCheck, AcrLevel]:
    """The anchor re-checked now and the level a card authentication earns with it."""
    check = flow.checker.check(private_id, auth=CertAnswer(CertStatus.GOOD)
                               if purpose == "login" else None)
    _refuse_inactive(check.state)
    return check, IAL2_AAL2 if check.state is AnchorState.CURRENT else IAL1_AAL2


def _raise_session(flow: CardFlow, request_id: str) -> None:
    """After an accepted re-issue or 4-info refresh, the session that asked for it is
    authenticated by the card at the new anchor's level, as a card login would be: the step is
    done whether the browser then polls the status or looks at the interaction itself."""
    with flow.sessions() as db:
        row = card_requests.load(db, request_id)
        purpose, private_id, session_id = row.purpose, row.private_id, row.session_id
    if purpose not in FINISHED_BY_ANSWER or private_id is None or session_id is None:
        return
    _check, acr = _card_level(flow, private_id, purpose)
    with dbm.transaction(flow.sessions) as db:
        login_sessions.reauthenticate(db, session_id, private_id=private_id, acr=acr.value,
                                      amr=list(CARD_AMR), lifetime=flow.session_lifetime)


def _refuse_inactive(state: AnchorState) -> None:
    if state is AnchorState.SUSPENDED:
        raise AccountSuspendedError()
    if state is AnchorState.CLOSED:
        raise AccountClosedError()


def setup(app: Flask, settings: Settings, interactions: Interactions,
          cookie_secret: str) -> ActionsHook:
    """Build the card services once, register the anchor checker and the routes."""
    factory = app.extensions["idp.sessions"]
    trust = LazyTrust(settings)
    checker = AnchorChecker(factory, trust)
    app.extensions["idp.trust"] = trust
    app.extensions["idp.anchor_checker"] = checker
    answers = CardAnswers(factory, trust, default_steps(trust))
    flow = CardFlow(interactions, factory, answers, checker, cookie_secret, settings.oidc.issuer,
                    settings.oidc.session_lifetime_seconds, settings.default_language)
    app.register_blueprint(card_app_blueprint(interactions, factory, answers, checker,
                                              settings.oidc.issuer,
                                              app.extensions["idp.throttles"]["card_answer"],
                                              lambda request_id: _raise_session(flow, request_id)))
    return install(app, flow)
