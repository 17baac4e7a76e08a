"""The authorization endpoint and the interactions it starts (login, consent).

``authorize`` validates the request (see authorize.py), runs the login policy
(idp.assurance.policy) against the browser's session, and answers with a URL: the relying party
with a code (nothing to ask), the relying party with an error (prompt=none, or a refusal), or
``/interaction/{uid}`` where the person is asked. The login package drives interactions through
the methods below (it sees this class only as its ``Interactions`` port).
"""

from __future__ import annotations

import secrets
from contextlib import nullcontext
from typing import Any

from sqlalchemy import Engine, bindparam, insert, update
from sqlalchemy.orm import Session

from idp.accounts import sessions as login_sessions
from idp.accounts.anchors import anchor_summary
from idp.accounts.models import PrivateId
from idp.assurance import levels
from idp.assurance.policy import UNMET, Prompt, Requirements, SessionFacts, evaluate
from idp.audit import entries as audit
from idp.db import Base
from idp.oidc import consent as consents
from idp.oidc import device, par
from idp.oidc import signing_flow as signing
from idp.oidc.authorize import (
    AuthorizationRequest,
    check_redirect_uri,
    error_url,
    parse,
    response_url,
)
from idp.oidc.claims import consentable
from idp.oidc.context import OidcContext, now
from idp.oidc.errors import (
    AccessDeniedError,
    ConsentRequiredError,
    InteractionNotFoundError,
    InvalidRequestObjectError,
    InvalidUserCodeError,
    LoginRequiredError,
    NotLoggedInError,
    OidcError,
    UnmetAuthenticationRequirementsError,
)
from idp.oidc.interaction_rows import (
    INTERACTIONS,
    InteractionRow,
    InteractionRows,
    StoredInteractions,
)
from idp.oidc.models import AuthorizationCode, Grant
from idp.oidc.tokens import digest
from idp.prepared import Prepared, defer_on, execute_on, write_one

ActiveSession = login_sessions.ActiveSession
CODES, GRANTS = (Base.metadata.tables[model.__tablename__] for model in (AuthorizationCode, Grant))
# Core statements, compiled once (SQLAlchemy's cache): a login's writes, without the ORM's unit
# of work (docs/benchmarks.md, "Passkey login: the ratio to a trivial request").
_GRANT, _CODE, _STARTED = (Prepared(insert(table)) for table in (GRANTS, CODES, INTERACTIONS))
_FINISHED = Prepared(update(INTERACTIONS).where(INTERACTIONS.c.uid == bindparam("b_uid"))
                     .values(done=True))
_LOGGED_IN = Prepared(update(INTERACTIONS).where(INTERACTIONS.c.uid == bindparam("b_uid"))
                      .values(login_session_id=bindparam("login_session_id"),
                              done=INTERACTIONS.c.done | bindparam("done")))


class Provider:
    def __init__(self, ctx: OidcContext, rows: InteractionRows | None = None) -> None:
        self.ctx = ctx
        self.rows = rows or StoredInteractions()
        self._engine: Engine = ctx.sessions.kw["bind"]  # a new interaction alone (write_one)

    # -- /authorize -----------------------------------------------------------------------------
    def authorize(self, params: dict[str, Any], session_id: str | None) -> str:
        """The URL to send the browser to. Raises only errors that must not be redirected."""
        ctx = self.ctx
        # Without a login session nor a pushed request to redeem, the one write an authorization
        # request can make is its interaction's INSERT (no code without a session): a statement
        # that commits by itself (``write_one``: one round trip on PostgreSQL, no BEGIN nor
        # COMMIT), with no unit of work around it. The session reads only a client not cached.
        alone = session_id is None and not params.get("request_uri")
        with ctx.sessions() as db, (nullcontext() if alone else db.begin()):
            client = ctx.clients.get(db, params.get("client_id"))
            if params.get("request_uri"):
                params = par.redeem(db, client.client_id, str(params["request_uri"]))
            elif params.get("request"):
                try:
                    params = par.request_object_params(client, str(params["request"]),
                                                       ctx.issuer)
                except InvalidRequestObjectError as error:
                    redirect_uri = check_redirect_uri(client, params)
                    return error_url(redirect_uri, ctx.issuer, params.get("state"), error)
            redirect_uri = check_redirect_uri(client, params)
            try:
                request = parse(client, params, require_nonce=ctx.settings.require_nonce)
                return self._decide(db, request, session_id, started_at=now(), uid=None,
                                    alone=alone)
            except OidcError as error:
                if not error.redirectable:
                    raise
                return error_url(redirect_uri, ctx.issuer, params.get("state"), error)

    def _decide(self, db: Session, request: AuthorizationRequest, session_id: str | None, *,
                started_at: int, uid: str | None, made_here: str | None = None,
                consented: bool = False, alone: bool = False) -> str:
        """``alone``: no session and no transaction (``authorize``): an interaction it starts is
        written by a statement that commits by itself."""
        session = self._session(db, session_id)
        record = self._consent(db, request, session)
        prompt = self._prompt(request, session, record, made_here, consented)
        unsigned = session is not None and signing.pending(db, request, uid, session.private_id)
        if prompt is None and session is not None and not unsigned:
            if request.device and uid is not None:  # the person approves on the page (§5.4)
                return self.ctx.endpoint(f"/interaction/{uid}")
            if uid is not None:
                self._finish(db, uid)
            return self._issue_code(db, request, session, record, uid)
        if prompt is None and "none" in request.prompt:
            raise signing.InteractionRequiredError("the person must read and sign the document")
        if prompt is UNMET and (uid is not None or "none" in request.prompt):
            # The person went through the interaction (logged in, was offered the re-issue)
            # and the essential acr is still out of reach: the RP must hear it (OIDC Core
            # §5.5.1.1; the error is OpenID's unmet_authentication_requirements).
            raise UnmetAuthenticationRequirementsError(
                "the essential acr requested cannot be met for this person now")
        if "none" in request.prompt:
            if prompt and prompt.name == "login":
                raise LoginRequiredError()
            raise ConsentRequiredError()
        if uid is None:
            uid = self._start_interaction(db, request, started_at, alone=alone)
        return self.ctx.endpoint(f"/interaction/{uid}")

    def _session(self, db: Session, session_id: str | None) -> ActiveSession | None:
        session = login_sessions.load(db, session_id)
        if session is None:
            return None
        return session if _active(db, session.private_id) else None

    @staticmethod
    def _consent(db: Session, request: AuthorizationRequest,
                 session: ActiveSession | None) -> consents.ConsentRecord | None:
        return consents.find(db, session.private_id, request.client_id) if session else None

    @staticmethod
    def _prompt(request: AuthorizationRequest, session: ActiveSession | None,
                record: consents.ConsentRecord | None, made_here: str | None,
                consented: bool = False) -> Prompt | None:
        """``made_here``: the login session the interaction's own login made (None before one,
        and at /authorize): only that one is a login made after the request."""
        requirements = Requirements(
            prompt=request.prompt, max_age=request.max_age, acr_values=request.acr_values,
            acr_essential=request.acr_essential,
            claims=consentable(request.scope, request.claims))
        facts = SessionFacts(
            authenticated=session is not None, auth_time=session.auth_time if session else 0,
            logged_in_here=session is not None and session.id == made_here,
            acr=session.acr if session else None,
            consented_claims=record.decided if record else frozenset(),
            consented_at=record.given_at if record else None,
            consented_in_interaction=consented, now=now())
        return evaluate(requirements, facts)

    def _start_interaction(self, db: Session, request: AuthorizationRequest,
                           started_at: int, *, alone: bool = False) -> str:
        uid = secrets.token_urlsafe(18)
        values = {
            "uid": uid, "client_id": request.client_id, "params": request.to_json(),
            "csrf_token": secrets.token_urlsafe(24), "started_at": started_at,
            "expires_at": started_at + self.ctx.settings.interaction_lifetime_seconds,
            "done": False, "browser_hash": self.rows.browser_hash(), "login_session_id": None}
        if alone:
            write_one(self._engine, _STARTED, values)
        else:
            execute_on(db.connection(), _STARTED, values)
        return uid

    def _issue_code(self, db: Session, request: AuthorizationRequest, session: ActiveSession,
                    record: consents.ConsentRecord | None, uid: str | None = None) -> str:
        grant_id = self._grant(db, request, session, record, uid)
        code = secrets.token_urlsafe(32)
        defer_on(db.connection(), _CODE, {
            "code_hash": digest(code), "grant_id": grant_id, "redirect_uri": request.redirect_uri,
            "code_challenge": request.code_challenge,
            "expires_at": now() + self.ctx.settings.code_lifetime_seconds, "used": False})
        return response_url(request.redirect_uri, self.ctx.issuer, request.state, code=code)

    def _grant(self, db: Session, request: AuthorizationRequest, session: ActiveSession,
               record: consents.ConsentRecord | None, uid: str | None) -> str:
        """What the person granted, at the level of their session (stored): its id."""
        allowed = consentable(request.scope, request.claims) & (
            record.approved if record else frozenset())
        # The requested value the session satisfies, else the historic value of the session's
        # own: a voluntary acr_values the session does not reach still gets a code.
        acr = levels.asserted(session.acr, list(request.acr_values))
        # A device's grant is its own sign-in, not part of the browser session that approved
        # it: logging out on the phone does not sign the TV out (the TV's logout, or revoking
        # the consent at /account, does).
        grant_id = secrets.token_urlsafe(18)
        defer_on(db.connection(), _GRANT, {
            "id": grant_id, "client_id": request.client_id, "private_id": session.private_id,
            "session_id": None if request.device else session.id,
            "scope": " ".join(request.scope),
            "claims": signing.with_details(db, request, uid, session.private_id, {
                "request": request.claims, "allowed": sorted(allowed)}),
            "nonce": request.nonce, "acr": acr, "amr": list(session.amr),
            "auth_time": session.auth_time, "revoked": False, "created_at": now()})
        return grant_id

    # -- interactions (the login package's port) ------------------------------------------------
    def state(self, uid: str, session_id: str | None) -> dict[str, Any]:
        """Where interaction ``uid`` stands for this browser: the prompt and why."""
        with self.ctx.sessions() as db:
            row, request = self._interaction(db, uid)
            client = self.ctx.clients.get(db, row.client_id)
            session = self._session(db, session_id)
            prompt = self._prompt(request, session, self._consent(db, request, session),
                                  row.login_session_id)
            anchor = anchor_summary(db, session.private_id) if session else None
            unsigned = session is not None and signing.pending(db, request, uid,
                                                               session.private_id)
            account = None if session is None else {
                "state": "active", "acr": session.acr, "auth_time": session.auth_time,
                "anchor": anchor}
        name = prompt.name if prompt else "done"
        if name == "done" and request.device and prompt is None:
            name = "approve"  # a device's sign-in ends by the person's approval (RFC 8628 §5.4)
        elif name == "done" and unsigned:
            name = "sign"  # the document is shown and signed last, by the signed-in person
        elif name in ("done", "unmet") and anchor and anchor["state"] == "needs_reissue":
            name = "reissue"  # asked before returning; ``skip`` continues without it
        elif name == "unmet":
            name = "done"  # nothing left to try: resuming tells the RP (unmet requirements)
        return {
            "uid": uid, "prompt": name,
            "reasons": list(prompt.reasons) if prompt else [],
            "client": {"client_id": client.client_id, "name": client.name},
            "requested": {"acr_values": list(request.acr_values), "scope": list(request.scope),
                          "claims": sorted(consentable(request.scope, request.claims))},
            "account": account, "csrf_token": row.csrf_token,
            **({"document": request.document} if request.document else {}),
            **({"device": {}} if request.device else {})}

    def log_in(self, uid: str, *, private_id: str, acr: str, amr: list[str],
               continue_if_done: bool, db: Session | None = None
               ) -> tuple[ActiveSession, str | None]:
        """Start the login session a sign-in in interaction ``uid`` earned and, when
        ``continue_if_done`` and nothing is left to ask, issue the code: one unit of work, in
        ``db``'s transaction when the caller records its sign-in in it (a passkey login), else
        in one of its own. Refused (the interaction ended meanwhile) before it writes anything.

        Answers the session and the relying party's URL with the code, or None when the
        interaction still asks something (consent, a higher acr: the page shows it). The caller
        (a login method) sets ``continue_if_done`` only when no optional step can follow.
        """
        if db is None:
            with self.ctx.sessions() as own, own.begin():
                return self.log_in(uid, private_id=private_id, acr=acr, amr=amr,
                                   continue_if_done=continue_if_done, db=own)
        _row, request = self._interaction(db, uid)
        started = login_sessions.start(
            db, private_id=private_id, acr=acr, amr=amr, now=now(),
            lifetime=self.ctx.settings.session_lifetime_seconds)
        done = self._code_if_done(db, request, uid, started) if continue_if_done else None
        # The login this interaction made (what satisfies its prompt=login and max_age) and,
        # with the code issued, the interaction's end: one UPDATE.
        defer_on(db.connection(), _LOGGED_IN, {
            "b_uid": uid, "login_session_id": started.id, "done": done is not None})
        self.rows.forget(uid)
        # Appended as the transaction commits, after its writes (and after entries recorded
        # before it in the transaction): the head lock is held only until the commit.
        self.ctx.audit.record("login", actor=audit.person(private_id),
                              target=audit.client(request.client_id),
                              details={"method": amr, "level": acr}, db=db)
        return started, done

    def _code_if_done(self, db: Session, request: AuthorizationRequest, uid: str,
                      started: ActiveSession) -> str | None:
        """The relying party's URL with a code, when nothing is left to ask (the caller then
        ends the interaction, in the same transaction)."""
        # As for any session a code is issued on: only for an active private ID.
        active, record = consents.find_if_active(db, started.private_id, request.client_id)
        if not active:
            return None
        if self._prompt(request, started, record, started.id) is not None or \
                signing.pending(db, request, uid, started.private_id) or request.device:
            return None
        return self._issue_code(db, request, started, record, uid)

    def requested_ial(self, uid: str) -> int | None:
        """The identity level interaction ``uid``'s relying party asks for (its acr values:
        ``levels.requested_ial``), or None when it asks for none."""
        with self.ctx.sessions() as db:
            return levels.requested_ial(self._interaction(db, uid)[1].acr_values)

    def csrf_token(self, uid: str) -> str:
        with self.ctx.sessions() as db:
            return self._interaction(db, uid)[0].csrf_token

    def resume(self, uid: str, session_id: str | None) -> str:
        """Continue the authorization: the RP's URL with a code, or this interaction again."""
        with self.ctx.sessions() as db, db.begin():
            row, request = self._interaction(db, uid)
            return self._decide_or_error(db, request, session_id, row)

    def consent(self, uid: str, session_id: str | None, *, approve: bool,
                claims: list[str]) -> str:
        with self.ctx.sessions() as db, db.begin():
            row, request = self._interaction(db, uid)
            session = self._session(db, session_id)
            if session is None:
                raise NotLoggedInError()
            prompt = self._prompt(request, session, self._consent(db, request, session),
                                  row.login_session_id)
            if prompt is not None and prompt.name == "login":
                raise NotLoggedInError("log in again before consenting: "
                                       + ", ".join(prompt.reasons))
            if not approve:
                url = self._refuse(db, request, uid,
                                   AccessDeniedError("the person declined to share their data"))
                self.ctx.audit.record("consent.declined", actor=audit.person(session.private_id),
                                      target=audit.client(request.client_id), outcome="refused",
                                      details={"asked": sorted(consentable(request.scope,
                                                                           request.claims))},
                                      db=db)
                return url
            asked = consentable(request.scope, request.claims)
            given = consents.give(db, session.private_id, request.client_id, asked=asked,
                                  approved=frozenset(claims) & asked)
            url = self._decide_or_error(db, request, session_id, row, consented=True)
            self.ctx.audit.record("consent.given", actor=audit.person(session.private_id),
                                  target=audit.client(request.client_id),
                                  details={"approved": sorted(given.approved),
                                           "asked": sorted(asked)}, db=db)
            return url

    def abort(self, uid: str, reason: str = "the person cancelled the sign-in") -> str:
        with self.ctx.sessions() as db, db.begin():
            _row, request = self._interaction(db, uid)
            return self._refuse(db, request, uid, AccessDeniedError(reason))

    def _decide_or_error(self, db: Session, request: AuthorizationRequest,
                         session_id: str | None, row: InteractionRow,
                         consented: bool = False) -> str:
        try:
            return self._decide(db, request, session_id, started_at=row.started_at, uid=row.uid,
                                made_here=row.login_session_id, consented=consented)
        except OidcError as error:
            return self._refuse(db, request, row.uid, error)

    def _refuse(self, db: Session, request: AuthorizationRequest, uid: str,
                error: OidcError) -> str:
        """End interaction ``uid`` with ``error``: the relying party's URL with it (a device's
        request is denied, so that its polls hear access_denied)."""
        self._finish(db, uid)
        if request.device:
            device.decide(db, request.device["id"], None)
        return error_url(request.redirect_uri, self.ctx.issuer, request.state, error)

    # -- the device authorization grant (idp.oidc.device) ----------------------------------------
    def start_device(self, pending: device.PendingDevice) -> str:
        """The interaction where the person signs in for a device and approves it: its URL."""
        with self.ctx.sessions() as db, db.begin():
            uid = self._start_interaction(db, pending.request(self.ctx.issuer), now())
        return self.ctx.endpoint(f"/interaction/{uid}")

    def approve_device(self, uid: str, session_id: str | None, *, approve: bool) -> str:
        """The person's answer on the approval step: the grant for the device (its next poll
        gets the tokens) or its refusal; the URL of the page that says so."""
        with self.ctx.sessions() as db, db.begin():
            row, request = self._interaction(db, uid)
            session = self._session(db, session_id)
            if request.device is None or session is None:
                raise NotLoggedInError("sign in first, then approve the device")
            if not approve:
                url = self._refuse(db, request, uid, AccessDeniedError(
                    "the person declined the sign-in on the device"))
                self.ctx.audit.record("consent.declined", actor=audit.person(session.private_id),
                                      target=audit.client(request.client_id), outcome="refused",
                                      details={"device": True}, db=db)
                return url
            record = self._consent(db, request, session)
            if self._prompt(request, session, record, row.login_session_id) is not None:
                raise NotLoggedInError("sign in and answer the consent before approving")
            grant_id = self._grant(db, request, session, record, uid)
            if not device.decide(db, request.device["id"], grant_id):
                raise InvalidUserCodeError("this sign-in request has expired or was already "
                                           "answered; start again on the device")
            self._finish(db, uid)
            return response_url(request.redirect_uri, self.ctx.issuer, None, status="approved")

    def _interaction(self, db: Session, uid: str) -> tuple[InteractionRow,
                                                            AuthorizationRequest]:
        row = self.rows.load(db, uid)
        if row is None or row.done or row.expires_at < now():
            raise InteractionNotFoundError()
        return row, AuthorizationRequest.from_json(row.params)

    def _finish(self, db: Session, uid: str) -> None:
        execute_on(db.connection(), _FINISHED, {"b_uid": uid})
        self.rows.forget(uid)


def _active(db: Session, private_id: str) -> bool:
    person = db.get(PrivateId, private_id)
    return person is not None and person.state == "active"
