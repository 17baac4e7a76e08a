"""Passkeys in the interaction: sign in (``passkey_options``/``passkey_verify``) and, once the
person is in, the offer to register one (``passkey_register_options``/``passkey_register``, or
``skip``).

Every sign-in re-checks the private ID's anchor (anchor_gate) before it becomes a session. The
ceremony handles live in Flask's signed session cookie, keyed by interaction and ceremony, so
only the browser that began a ceremony can finish it, and never in the page. The registration
offer is made once per interaction, to a person who had to sign in during it and has no passkey
yet; ``skip`` (or registering) answers it.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request, session, url_for

from idp import i18n
from idp.accounts import sessions as login_sessions
from idp.accounts.anchor_policy import AnchorState
from idp.accounts.claims import ClaimsSource
from idp.errors import ConfigurationError
from idp.login import anchor_gate, anchor_records
from idp.login.actions import Action, ActionsHook, post
from idp.login.ports import Interactions
from idp.login.routes import BadBodyError, CsrfRefusedError, LoginError, json_object
from idp.passkeys.errors import (
    ChallengeMismatch,
    ChallengeUnknown,
    InvalidPasskeyResponse,
    SignCountRegression,
    UnknownPasskey,
    UserVerificationRequired,
    WrongOrigin,
    WrongRelyingParty,
)
from idp.passkeys.service import PasskeyService
from idp.throttle import FailureThrottle

# A passkey sign-in that failed verification counts against the client address: a bad
# signature, a credential we do not hold, another origin or RP, an answer to another challenge,
# a cloned authenticator, no user verification. Not counted: an expired or unknown challenge (a
# stale page; nothing was verified, and a new challenge costs a round trip anyway) or a verified
# passkey of an inactive or another account (the passkey was genuine: no guessing to slow).
REFUSED_ASSERTIONS: tuple[type[Exception], ...] = (
    InvalidPasskeyResponse, UnknownPasskey, WrongOrigin, WrongRelyingParty, ChallengeMismatch,
    SignCountRegression, UserVerificationRequired)

_KEPT = 20  # interactions remembered per browser for the offer (the cookie stays small)


class NotSignedInError(LoginError):
    """Sign in first (with your My Number Card or a passkey) to register a passkey."""

    code = "login_required"
    status = 401


def _remember(key: str, uid: str) -> None:
    seen = [u for u in session.get(key, []) if u != uid][-_KEPT + 1:]
    session[key] = [*seen, uid]


class PasskeyFlow:
    """The passkey steps of one app: built once in ``create_app``."""

    def __init__(self, interactions: Interactions, service: PasskeyService, cookie_secret: str,
                 claims: ClaimsSource, default_language: str, throttle: FailureThrottle) -> None:
        self.interactions = interactions
        self.service = service
        self.cookie_secret = cookie_secret
        self.claims = claims
        self.default_language = default_language
        self.throttle = throttle  # refused sign-ins per client address

    # -- helpers --------------------------------------------------------------------------------
    def language(self) -> str:
        return i18n.choose(request.args.get("lang"), request.cookies.get("lang"),
                           request.headers.get("Accept-Language"), self.default_language)

    def active_session(self) -> login_sessions.ActiveSession | None:
        session_id = login_sessions.session_id_from_cookie(
            self.cookie_secret, request.cookies.get(login_sessions.COOKIE_NAME))
        with current_app.extensions["idp.sessions"]() as dbs:
            return login_sessions.load(dbs, session_id)

    def body(self, uid: str) -> dict[str, Any]:
        token = request.headers.get("X-CSRF-Token", "")
        if not hmac.compare_digest(token, self.interactions.csrf_token(uid)):
            raise CsrfRefusedError()
        return json_object()

    @staticmethod
    def credential(body: dict[str, Any]) -> str:
        """The browser's PublicKeyCredential JSON, sent as an object or as a string."""
        credential = body.get("credential")
        if isinstance(credential, dict):
            return json.dumps(credential)
        if isinstance(credential, str):
            return credential
        raise BadBodyError('send {"credential": <PublicKeyCredential JSON>}')

    @staticmethod
    def keep_handle(uid: str, ceremony: str, handle: str) -> None:
        handles = dict(session.get("passkey_handles", {}))
        handles[f"{uid}:{ceremony}"] = handle
        session["passkey_handles"] = dict(list(handles.items())[-_KEPT:])

    @staticmethod
    def take_handle(uid: str, ceremony: str) -> str:
        handles = dict(session.get("passkey_handles", {}))
        handle = handles.pop(f"{uid}:{ceremony}", None)
        session["passkey_handles"] = handles
        if not isinstance(handle, str):
            raise ChallengeUnknown("Start again: ask for new passkey options on this page first.")
        return handle

    def offer_open(self, uid: str, private_id: str) -> bool:
        return (uid in session.get("passkey_signin_seen", [])
                and uid not in session.get("passkey_offer_answered", [])
                and not self.service.list_passkeys(private_id))

    def interaction_url(self, uid: str) -> str:
        return url_for("login.show", uid=uid)

    @staticmethod
    def checker() -> anchor_gate.AnchorChecker:
        """The card side's anchor checker; without one no passkey sign-in goes through (the
        anchor is re-checked at every use, seed 004) — fail closed, loudly."""
        checker: anchor_gate.AnchorChecker | None = current_app.extensions.get(
            "idp.anchor_checker")
        if checker is None:
            raise ConfigurationError("no anchor checker is registered: passkey sign-in refused")
        return checker

    # -- the actions hook -----------------------------------------------------------------------
    def actions(self, state: dict[str, Any]) -> dict[str, Action]:
        uid, prompt = state["uid"], state["prompt"]
        if prompt in ("login", "onboard"):
            _remember("passkey_signin_seen", uid)  # the person signs in during this interaction
            return {"passkey_options": post(url_for("passkeys.sign_in_options", uid=uid)),
                    "passkey_verify": post(url_for("passkeys.sign_in_verify", uid=uid))}
        # No offer while the anchor awaits a re-issue: a passkey enrolled now would be bound to
        # an anchor that is no longer valid (the card side's ``skip`` answers that step).
        anchor = (state.get("account") or {}).get("anchor") or {}
        if anchor.get("state", "current") != "current":
            return {}
        active = self.active_session()
        if prompt in ("consent", "done") and active and self.offer_open(uid, active.private_id):
            return {"passkey_register_options": post(url_for("passkeys.register_options",
                                                             uid=uid)),
                    "passkey_register": post(url_for("passkeys.register", uid=uid)),
                    "skip": post(url_for("passkeys.skip", uid=uid))}
        return {}

    # -- sign-in --------------------------------------------------------------------------------
    def sign_in_options(self, uid: str) -> Any:
        self.body(uid)
        active = self.active_session()
        started = self.service.begin_authentication(
            expected_private_id=active.private_id if active else None)
        self.keep_handle(uid, "authentication", started.handle)
        return jsonify({"options": json.loads(started.options_json)})

    def sign_in_verify(self, uid: str) -> Any:
        credential = self.credential(self.body(uid))
        with self.throttle.attempt(request.remote_addr or "", counts=REFUSED_ASSERTIONS):
            login = self.service.finish_authentication(
                handle=self.take_handle(uid, "authentication"), response_json=credential)
        check = self.checker().check(login.private_id)
        language = self.language()
        decided = anchor_gate.decide(login, check, lambda key: i18n.translate(language, key))
        # With a current anchor no optional step can follow a passkey sign-in: the offer to
        # register a passkey is for people without one, the re-issue step for anchors that need
        # it. So when nothing is left to ask, the answer carries the relying party's URL with
        # the code, and the browser skips a round trip through the interaction page.
        started, done = self.interactions.log_in(
            uid, private_id=login.private_id, acr=decided.acr, amr=list(decided.amr),
            continue_if_done=decided.anchor_state is AnchorState.CURRENT)
        response = jsonify({
            "redirect_to": done or self.interaction_url(uid),
            "account": {"acr": decided.acr, "amr": list(decided.amr),
                        "anchor": {"state": decided.anchor_state.value, "reason": check.reason,
                                   "next_step": decided.next_step,
                                   "checked_at": check.checked_at.isoformat()}}})
        response.set_cookie(login_sessions.COOKIE_NAME,
                            login_sessions.cookie_value(self.cookie_secret, started.id),
                            httponly=True, samesite="Lax", secure=request.is_secure)
        return response

    # -- registration ---------------------------------------------------------------------------
    def signed_in(self) -> login_sessions.ActiveSession:
        active = self.active_session()
        if active is None:
            raise NotSignedInError()
        return active

    def register_options(self, uid: str) -> Any:
        self.body(uid)
        active = self.signed_in()
        with current_app.extensions["idp.sessions"]() as dbs:
            anchor = anchor_records.current_anchor(dbs, active.private_id)
        name = str(self.claims.claims_for(active.private_id).get("name") or active.private_id)
        started = self.service.begin_registration(private_id=active.private_id,
                                                  display_name=name, anchor=anchor)
        self.keep_handle(uid, "registration", started.handle)
        return jsonify({"options": json.loads(started.options_json)})

    def register(self, uid: str) -> Any:
        body = self.body(uid)
        self.signed_in()
        name = body.get("name")
        summary = self.service.finish_registration(
            handle=self.take_handle(uid, "registration"), response_json=self.credential(body),
            name=name if isinstance(name, str) else None)
        _remember("passkey_offer_answered", uid)
        return jsonify({"redirect_to": self.interaction_url(uid),
                        "passkey": {"id": summary.id, "name": summary.name,
                                    "device_type": summary.device_type.value}})

    def skip(self, uid: str) -> Any:
        self.body(uid)
        _remember("passkey_offer_answered", uid)
        return jsonify({"redirect_to": self.interaction_url(uid)})


def install(app: Flask, flow: PasskeyFlow) -> ActionsHook:
    """Register the passkey routes; answers the actions hook for the login blueprint."""
    bp = Blueprint("passkeys", __name__)
    base = "/interaction/<uid>/passkey"
    bp.add_url_rule(f"{base}/options", "sign_in_options", flow.sign_in_options, methods=["POST"])
    bp.add_url_rule(f"{base}/verify", "sign_in_verify", flow.sign_in_verify, methods=["POST"])
    bp.add_url_rule(f"{base}/register/options", "register_options", flow.register_options,
                    methods=["POST"])
    bp.add_url_rule(f"{base}/register", "register", flow.register, methods=["POST"])
    bp.add_url_rule(f"{base}/skip", "skip", flow.skip, methods=["POST"])
    app.register_blueprint(bp)
    return flow.actions
