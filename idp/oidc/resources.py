"""Token consumers: userinfo (OIDC Core §5.3), introspection (RFC 7662), revocation (RFC 7009).

A JWT access token is checked by signature and expiry, then by its record (revocation); an
opaque one by the hash of its value. Either way a revoked grant revokes the token.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from idp.oidc import claims as claim_rules
from idp.oidc.clients import ClientInfo
from idp.oidc.context import OidcContext, now
from idp.oidc.errors import InvalidTokenError
from idp.oidc.models import Grant, Token
from idp.oidc.pairwise import subject
from idp.oidc.tokens import digest


def _lookup(ctx: OidcContext, db: Session, token: str) -> tuple[Token, Grant] | None:
    """The live record and grant of ``token`` (access or refresh), or None."""
    if token.count(".") == 2:
        try:
            jwt_claims = ctx.keys.verify(token, typ="at+jwt")
        except InvalidTokenError:
            return None
        key = "jti:" + str(jwt_claims.get("jti"))
    else:
        key = digest(token)
    row = db.get(Token, key)
    if row is None or row.revoked or row.expires_at < now():
        return None
    if row.kind == "refresh" and row.used:
        return None
    grant = db.get(Grant, row.grant_id)
    if grant is None or grant.revoked:
        return None
    return row, grant


def userinfo(ctx: OidcContext, token: str | None) -> dict[str, Any]:
    if not token:
        raise InvalidTokenError("send the access token as a Bearer token")
    with ctx.sessions() as db:
        found = _lookup(ctx, db, token)
        if found is None or found[0].kind != "access":
            raise InvalidTokenError("the access token is invalid, expired or revoked")
        grant = found[1]
        client = ctx.clients.get(db, grant.client_id)
    available = ctx.claims.claims_for(grant.private_id)
    released = claim_rules.userinfo_claims(
        available, grant.scope.split(), grant.claims.get("request", {}),
        frozenset(grant.claims.get("allowed", [])))
    return {**released, "sub": subject(client, grant.private_id, ctx.pairwise_salt)}


def introspect(ctx: OidcContext, client: ClientInfo, token: str | None) -> dict[str, Any]:
    """RFC 7662 §2.2; only the client the token was issued to learns about it."""
    if not token:
        return {"active": False}
    with ctx.sessions() as db:
        found = _lookup(ctx, db, token)
    if found is None or found[1].client_id != client.client_id:
        return {"active": False}
    row, grant = found
    return {"active": True, "scope": grant.scope, "client_id": grant.client_id,
            "token_type": "Bearer" if row.kind == "access" else "refresh_token",
            "exp": row.expires_at, "iat": row.issued_at, "iss": ctx.issuer,
            "sub": subject(client, grant.private_id, ctx.pairwise_salt),
            "acr": grant.acr, "auth_time": grant.auth_time, "amr": grant.amr}


def revoke(ctx: OidcContext, client: ClientInfo, token: str | None) -> None:
    """RFC 7009 §2.1: revoking a refresh token revokes its grant; unknown tokens are ignored."""
    if not token:
        return
    with ctx.sessions() as db, db.begin():
        found = _lookup(ctx, db, token)
        if found is None or found[1].client_id != client.client_id:
            return
        row, grant = found
        if row.kind == "refresh":
            db.execute(update(Grant).where(Grant.id == grant.id).values(revoked=True))
            db.execute(update(Token).where(Token.grant_id == grant.id).values(revoked=True))
        else:
            db.execute(update(Token).where(Token.key == row.key).values(revoked=True))
