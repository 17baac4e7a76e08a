"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) and back-channel logout
(OpenID Connect Back-Channel Logout 1.0).

A logout request is checked first (:func:`check_request`): the ``id_token_hint`` must be an ID
token of this IdP (an expired one is fine, §2), and ``post_logout_redirect_uri`` must be
registered for the client the hint or ``client_id`` names. Whether the person is asked before
the session ends is the web adapter's decision (``idp.web.logout``): it ends at once only when
the hint names this browser's session (:meth:`LogoutRequest.names_session`).

Ending a session revokes the tokens granted in it (except ``offline_access`` grants, which
outlive the login by design) and owes each relying party that took part and registered a
``backchannel_logout_uri`` a signed logout token naming the ``sub`` and ``sid``: written to the
outbox in the same transaction, tried once at once, retried later (idp.oidc.logout_outbox).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy import select, update

from idp.accounts import sessions as login_sessions
from idp.audit import entries as audit
from idp.oidc import logout_outbox
from idp.oidc.context import OidcContext
from idp.oidc.errors import InvalidRequestError, InvalidTokenError
from idp.oidc.models import Grant, Token
from idp.oidc.pairwise import subject
from idp.oidc.tokens import session_sid

# The request parameters (§2) a logout keeps, through the person's confirmation if one is asked.
PARAMETERS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state")


@dataclass(frozen=True)
class LogoutRequest:
    """A checked logout request: where to return, and the session its hint names."""

    params: Mapping[str, str]  # the parameters of PARAMETERS it came with
    redirect_to: str | None  # the registered post_logout_redirect_uri, with state
    hinted_sid: str | None  # the ``sid`` of a valid id_token_hint

    def names_session(self, session_id: str | None) -> bool:
        """Whether the hint names the login session ``session_id`` (then the relying party
        speaks for this very session, and nobody needs to be asked, §2)."""
        sid = session_sid(session_id)
        return sid is not None and self.hinted_sid is not None and hmac.compare_digest(
            self.hinted_sid.encode(), sid.encode())


@dataclass(frozen=True)
class LogoutOutcome:
    redirect_to: str | None
    notified: tuple[str, ...]  # client_ids whose back-channel endpoint took the first attempt


def check_request(ctx: OidcContext, params: Mapping[str, Any]) -> LogoutRequest:
    """The logout request ``params`` make, or a refusal (``InvalidRequestError``)."""
    client_id = params.get("client_id")
    hinted_sid = None
    if hint := params.get("id_token_hint"):
        claims = _hint_claims(ctx, str(hint), client_id)
        client_id, sid = claims.get("aud"), claims.get("sid")
        hinted_sid = sid if isinstance(sid, str) else None
    kept = {name: str(params[name]) for name in PARAMETERS if params.get(name) is not None}
    return LogoutRequest(kept, _post_logout_redirect(ctx, params, client_id), hinted_sid)


def end_session(ctx: OidcContext, request: LogoutRequest, session_id: str | None) -> \
        LogoutOutcome:
    """End the login session ``session_id`` (if any) as ``request`` asked."""
    redirect_to = request.redirect_to
    if session_id is None:
        return LogoutOutcome(redirect_to, ())
    with ctx.sessions() as db, db.begin():
        session = login_sessions.load(db, session_id)
        login_sessions.end(db, session_id)
        grants = db.scalars(select(Grant).where(Grant.session_id == session_id)).all()
        online = [g.id for g in grants if "offline_access" not in g.scope.split()]
        db.execute(update(Grant).where(Grant.id.in_(online)).values(revoked=True))
        db.execute(update(Token).where(Token.grant_id.in_(online)).values(revoked=True))
        owed = []
        for client_id in sorted({g.client_id for g in grants}):
            client = ctx.clients.get(db, client_id)
            if client.backchannel_logout_uri and session is not None:
                owed.append(logout_outbox.enqueue(
                    db, ctx, client, sub=subject(client, session.private_id, ctx.pairwise_salt),
                    sid=session_sid(session_id)))
        if session is not None:
            ctx.audit.record("logout", actor=audit.person(session.private_id),
                             target=audit.client(request.params["client_id"])
                             if "client_id" in request.params else None,
                             details={"grants_revoked": len(online),
                                      "backchannel": len(owed)}, db=db)
    report = logout_outbox.deliver(ctx, owed)  # after the commit: the rows are durable
    return LogoutOutcome(redirect_to, report.delivered)


def _hint_claims(ctx: OidcContext, hint: str, client_id: Any) -> dict[str, Any]:
    try:
        claims = ctx.keys.verify(hint)  # an expired hint is fine (§2); ours only
    except InvalidTokenError as error:
        raise InvalidRequestError("id_token_hint is not an ID token of this IdP") from error
    if claims.get("iss") != ctx.issuer:
        raise InvalidRequestError("id_token_hint was issued by another IdP")
    if client_id and client_id != claims.get("aud"):
        raise InvalidRequestError("client_id differs from the id_token_hint's audience")
    return claims


def _post_logout_redirect(ctx: OidcContext, params: Mapping[str, Any],
                          client_id: Any) -> str | None:
    """The registered post_logout_redirect_uri, with state; None when none was asked for."""
    uri = params.get("post_logout_redirect_uri")
    if not uri:
        return None
    if not client_id:
        raise InvalidRequestError("post_logout_redirect_uri needs id_token_hint or client_id")
    with ctx.sessions() as db:
        client = ctx.clients.get(db, str(client_id))
    if uri not in client.post_logout_redirect_uris:
        raise InvalidRequestError("post_logout_redirect_uri is not registered for this client")
    state = params.get("state")
    if state is None:
        return str(uri)
    parts = urlsplit(str(uri))
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path,
                       query + urlencode({"state": state}), ""))
