"""The person's own view of their consents: list them, and revoke one.

Revoking forgets the consent and revokes every grant and token the relying party holds
(consent.revoke). The CSRF token is bound to the login session: HMAC(secret, session id).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import Blueprint, jsonify, request

from idp.accounts import sessions as login_sessions
from idp.oidc import consent
from idp.oidc.context import OidcContext
from idp.oidc.errors import CsrfFailedError, NotLoggedInError


def register(bp: Blueprint, ctx: OidcContext) -> None:
    def logged_in() -> login_sessions.ActiveSession:
        session_id = login_sessions.session_id_from_cookie(
            ctx.cookie_secret, request.cookies.get(login_sessions.COOKIE_NAME))
        with ctx.sessions() as db:
            session = login_sessions.load(db, session_id)
        if session is None:
            raise NotLoggedInError()
        return session

    def csrf(session: login_sessions.ActiveSession) -> str:
        return hmac.new(ctx.cookie_secret.encode(), f"consents:{session.id}".encode(),
                        hashlib.sha256).hexdigest()

    @bp.get("/account/consents")
    def list_consents() -> Any:
        session = logged_in()
        return jsonify({"consents": consent_items(ctx, session.private_id),
                        "csrf_token": csrf(session)})

    @bp.post("/account/consents/<client_id>/revoke")
    def revoke_consent(client_id: str) -> Any:
        session = logged_in()
        if not hmac.compare_digest(request.headers.get("X-CSRF-Token", ""), csrf(session)):
            raise CsrfFailedError()
        with ctx.sessions() as db, db.begin():
            revoked = consent.revoke(db, session.private_id, client_id)
        return jsonify({"revoked": revoked})


def consent_items(ctx: OidcContext, private_id: str) -> list[dict[str, Any]]:
    """The relying parties ``private_id`` consented to, and what each may receive."""
    with ctx.sessions() as db:
        return [{"client_id": client_id, "name": ctx.clients.get(db, client_id).name,
                 "approved": sorted(record.approved), "given_at": record.given_at}
                for client_id, record in consent.list_for(db, private_id)]
