"""Passkeys in the interaction: sign in (``passkey_options``/``passkey_verify``) and, once the
person is in, the offer to register one (``passkey_register_options``/``passkey_register``, or
``skip``).

Every sign-in re-checks the private ID's anchor before it becomes a session, and the level comes
from the evidence (``idp.assurance.evidence``); what a passkey sign-in writes (the re-check's
result, the spent challenge and the passkey's use, the login) is one transaction. The ceremony
handles live in Flask's signed session cookie, keyed by interaction and ceremony, so only the
browser that began a ceremony can finish it, and never in the page. The registration offer is
made once per interaction, to a person who had to sign in during it and has no passkey yet;
``skip`` (or registering) answers it.
"""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from typing import Any

from flask import Blueprint, jsonify, session, url_for
from sqlalchemy.orm import Session, sessionmaker

from idp import db as dbm
from idp.accounts import overview
from idp.accounts.anchor_check import AnchorChecker
from idp.accounts.anchor_policy import AnchorState
from idp.accounts.claims import ClaimsSource
from idp.assurance.evidence import Evidence, level_for
from idp.errors import IdpError
from idp.oidc.flow import Provider
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
from idp.passkeys.values import Anchor
from idp.throttle import FailureThrottle
from idp.web import fast
from idp.web import request as web
from idp.web.actions import Action, post
from idp.web.interaction import checked_body
from idp.web.request import Answer, BadBodyError, Call

# A passkey sign-in that failed verification counts against the client address: a bad
# signature, a credential we do not hold, another origin or RP, an answer to another challenge,
# a cloned authenticator, no user verification. Not counted: an expired or unknown challenge (a
# stale page; nothing was verified, and a new challenge costs a round trip anyway) or a verified
# passkey of an inactive or another account (the passkey was genuine: no guessing to slow).
REFUSED_ASSERTIONS: tuple[type[Exception], ...] = (
    InvalidPasskeyResponse, UnknownPasskey, WrongOrigin, WrongRelyingParty, ChallengeMismatch,
    SignCountRegression, UserVerificationRequired)

_KEPT = 20  # interactions remembered per browser for the offer (the cookie stays small)


def _remember(key: str, uid: str, kept: MutableMapping[str, Any] | None = None) -> None:
    kept = session if kept is None else kept
    seen = [u for u in kept.get(key, []) if u != uid][-_KEPT + 1:]
    kept[key] = [*seen, uid]


class PasskeyFlow:
    """The passkey steps of one app: built once in ``create_app``."""

    def __init__(self, interactions: Provider, service: PasskeyService, checker: AnchorChecker,
                 claims: ClaimsSource, throttle: FailureThrottle,
                 sessions: sessionmaker[Session]) -> None:
        self.interactions = interactions
        self.sessions = sessions
        self.service = service
        self.checker = checker  # the anchor is re-checked at every use (seed 004)
        self.claims = claims
        self.throttle = throttle  # refused sign-ins per client address

    # -- helpers --------------------------------------------------------------------------------
    def body(self, uid: str, call: Call | None = None) -> dict[str, Any]:
        return checked_body(self.interactions, uid, call)

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
    def keep_handle(uid: str, ceremony: str, handle: str,
                    kept: MutableMapping[str, Any] | None = None) -> None:
        kept = session if kept is None else kept
        handles = dict(kept.get("passkey_handles", {}))
        handles[f"{uid}:{ceremony}"] = handle
        kept["passkey_handles"] = dict(list(handles.items())[-_KEPT:])

    @staticmethod
    def take_handle(uid: str, ceremony: str,
                    kept: MutableMapping[str, Any] | None = None) -> str:
        kept = session if kept is None else kept
        handles = dict(kept.get("passkey_handles", {}))
        handle = handles.pop(f"{uid}:{ceremony}", None)
        kept["passkey_handles"] = handles
        if not isinstance(handle, str):
            raise ChallengeUnknown("Start again: ask for new passkey options on this page first.")
        return handle

    def offer_open(self, uid: str, private_id: str,
                   kept: MutableMapping[str, Any] | None = None) -> bool:
        kept = session if kept is None else kept
        return (uid in kept.get("passkey_signin_seen", [])
                and uid not in kept.get("passkey_offer_answered", [])
                and not self.service.list_passkeys(private_id))

    def interaction_url(self, uid: str) -> str:
        return url_for("login.show", uid=uid)

    # -- the hooks of the interaction's face ----------------------------------------------------
    @staticmethod
    def signs_in(state: dict[str, Any]) -> bool:
        """Whether a passkey sign-in is open at this step: the person signs in during this
        interaction, unless only the card meets the level asked (idp.assurance.policy)."""
        prompt = state["prompt"]
        if prompt == "login" and "step_up_card" in state.get("reasons", ()):
            return False
        return prompt in ("login", "onboard")

    def face(self, state: dict[str, Any], call: Call) -> dict[str, Any]:
        """Where a passkey sign-in is open, the face carries its options already (a challenge
        of its own, its handle in this browser's cookie), so that the page offers passkeys in
        autofill as it loads and a client signs without asking ``passkey_options`` first. That
        action stays open for new options: after a refused answer, or when these expire."""
        if not self.signs_in(state):
            return {}
        return {"passkey": {"options": self.options(call, state["uid"])}}

    def actions(self, state: dict[str, Any], call: Call) -> dict[str, Action]:
        uid, prompt = state["uid"], state["prompt"]
        if self.signs_in(state):
            _remember("passkey_signin_seen", uid, call.session)
            return {"passkey_options": post(call.url("passkeys.sign_in_options", uid=uid)),
                    "passkey_verify": post(call.url("passkeys.sign_in_verify", uid=uid))}
        # No offer while the anchor awaits a re-issue: a passkey enrolled now would be bound to
        # an anchor that is no longer valid (the card side's ``skip`` answers that step).
        anchor = (state.get("account") or {}).get("anchor") or {}
        if anchor.get("state", "current") != "current":
            return {}
        if prompt not in ("consent", "done"):
            return {}
        active = web.active_session(call)
        if active and self.offer_open(uid, active.private_id, call.session):
            return {"passkey_register_options": post(call.url("passkeys.register_options",
                                                              uid=uid)),
                    "passkey_register": post(call.url("passkeys.register", uid=uid)),
                    "skip": post(call.url("passkeys.skip", uid=uid))}
        return {}

    # -- sign-in (shared routes: the fast path and Flask, idp.web.fast) ------------------------
    def options(self, call: Call, uid: str) -> dict[str, Any]:
        """New sign-in options for this browser: any passkey, or the signed-in person's own (a
        step-up); the challenge's handle replaces any earlier one of this interaction."""
        active = web.active_session(call)
        started = self.service.begin_authentication(
            expected_private_id=active.private_id if active else None)
        self.keep_handle(uid, "authentication", started.handle, call.session)
        options: dict[str, Any] = json.loads(started.options_json)
        return options

    def sign_in_options(self, call: Call, uid: str) -> Answer:
        self.body(uid, call)
        return Answer({"options": self.options(call, uid)})

    def sign_in_verify(self, call: Call, uid: str) -> Answer:
        credential = self.credential(self.body(uid, call))
        with self.throttle.attempt(call.remote_addr, counts=REFUSED_ASSERTIONS):
            verified = self.service.verify_authentication(  # writes only when it refuses
                handle=self.take_handle(uid, "authentication", call.session),
                response_json=credential, along=self.checker.along)  # the anchor's inputs too
        # The anchor is asked now, outside any transaction, on the inputs read with the passkey
        # (the person's state and lock, the live anchor, the newest auth certificate: one
        # statement with the challenge); then what the sign-in earned is one
        # transaction: the re-check's result with its audit entry, the challenge spent with the
        # passkey's use, the login. A refusal on the way (the private ID's state, a level that
        # fails closed, a challenge another request took, an interaction that ended) commits
        # what came before it, as separate transactions did. The audit entries (the re-check's,
        # a refusal's, the login's) are appended in that order as it commits, after its other
        # writes (AuditLog.record(db=)): the chain's head is locked last, until the commit.
        with self.checker.asking(verified.private_id, inputs=verified.along) as asked, \
                dbm.transaction(self.sessions, keeping=(IdpError,)) as db:
            check = asked.record(db)
            login = self.service.signed_in(db, verified)
            check.refuse_inactive()
            check.refuse_unestablished(lambda: self.interactions.requested_ial(uid))
            level = level_for(Evidence(check.proofing, login.method))
            # With a current anchor no optional step can follow a passkey sign-in: the offer to
            # register a passkey is for people without one, the re-issue step for anchors that
            # need it. So when nothing is left to ask, the answer carries the relying party's URL
            # with the code, and the browser skips a round trip through the interaction page.
            started, done = self.interactions.log_in(
                uid, private_id=login.private_id, acr=level.acr.value, amr=list(level.amr),
                continue_if_done=check.state is AnchorState.CURRENT, db=db)
        return Answer({
            "redirect_to": done or call.url("login.show", uid=uid),
            "account": {"acr": level.acr.value, "amr": list(level.amr),
                        "anchor": {"state": check.state.value, "reason": check.reason,
                                   "next_step": check.next_step,
                                   "checked_at": check.checked_at.isoformat()}}},
            cookies=(web.login_cookie(call, started.id),))

    def routes(self) -> list[fast.Route]:
        """The sign-in routes the fast path serves (JSON bodies)."""
        base = "/interaction/<uid>/passkey"
        return [fast.Route("POST", f"{base}/options", "passkeys.sign_in_options",
                           self.sign_in_options, body="json"),
                fast.Route("POST", f"{base}/verify", "passkeys.sign_in_verify",
                           self.sign_in_verify, body="json")]

    # -- registration ---------------------------------------------------------------------------
    def register_options(self, uid: str) -> Any:
        self.body(uid)
        active = web.signed_in()
        issuer, serial = overview.live_anchor_name(self.sessions, active.private_id)
        # The person's own name, for their own authenticator's list: not released to anyone.
        own = self.claims.claims_for(active.private_id, proven=True)
        name = str(own.get("name") or active.private_id)
        started = self.service.begin_registration(private_id=active.private_id,
                                                  display_name=name,
                                                  anchor=Anchor(issuer=issuer, serial=serial))
        self.keep_handle(uid, "registration", started.handle)
        return jsonify({"options": json.loads(started.options_json)})

    def register(self, uid: str) -> Any:
        body = self.body(uid)
        web.signed_in()
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


def blueprint(flow: PasskeyFlow) -> Blueprint:
    """The passkey routes; ``flow.actions`` is the actions hook of the interaction page."""
    bp = Blueprint("passkeys", __name__)
    base = "/interaction/<uid>/passkey"
    bp.add_url_rule(f"{base}/options", "sign_in_options",
                    fast.flask_view(flow.sign_in_options), methods=["POST"])
    bp.add_url_rule(f"{base}/verify", "sign_in_verify", fast.flask_view(flow.sign_in_verify),
                    methods=["POST"])
    bp.add_url_rule(f"{base}/register/options", "register_options", flow.register_options,
                    methods=["POST"])
    bp.add_url_rule(f"{base}/register", "register", flow.register, methods=["POST"])
    bp.add_url_rule(f"{base}/skip", "skip", flow.skip, methods=["POST"])
    return bp
