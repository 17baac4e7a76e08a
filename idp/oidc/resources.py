"""Token consumers: userinfo (OIDC Core §5.3), introspection (RFC 7662), revocation (RFC 7009).

A JWT access token is checked by signature and expiry, then by its record (revocation); an
opaque one by the hash of its value. Either way a revoked grant revokes the token.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from idp.accounts.claims import ClaimsAlong, ClaimsSource
from idp.oidc import disclosure
from idp.oidc import token_sql as sql
from idp.oidc.clients import ClientInfo
from idp.oidc.context import OidcContext, now
from idp.oidc.errors import InvalidTokenError
from idp.oidc.models import Grant, Token
from idp.oidc.pairwise import subject
from idp.oidc.tokens import digest
from idp.prepared import Prepared, read_one


def _token_key(ctx: OidcContext, token: str) -> str | None:
    """The record key of ``token``: ``jti:`` + its jti for our JWTs, else its hash."""
    if token.count(".") != 2:
        return digest(token)
    try:
        jwt_claims = ctx.keys.verify(token, typ="at+jwt")
    except InvalidTokenError:
        return None
    return "jti:" + str(jwt_claims.get("jti"))


def _lookup(ctx: OidcContext, db: Session, token: str) -> tuple[Token, Grant] | None:
    """The live record and grant of ``token`` (access or refresh), or None."""
    key = _token_key(ctx, token)
    row = None if key is None else db.get(Token, key)
    if row is None or row.revoked or row.expires_at < now():
        return None
    if row.kind == "refresh" and row.used:
        return None
    grant = db.get(Grant, row.grant_id)
    if grant is None or grant.revoked:
        return None
    return row, grant


def userinfo(ctx: OidcContext, token: str | None) -> dict[str, Any]:
    """OIDC Core §5.3: one read, outside a transaction: the token, its grant and the person's
    claims together (``ClaimsSource.along``)."""
    if not token:
        raise InvalidTokenError("send the access token as a Bearer token")
    key = _token_key(ctx, token)
    engine: Engine = ctx.sessions.kw["bind"]
    statement, along = _userinfo_read(ctx.claims)
    row = None if key is None else read_one(engine, statement, {"b_key": key})
    if row is None or row[0] or row[1] < now() or row[2]:  # token revoked, expired; grant revoked
        raise InvalidTokenError("the access token is invalid, expired or revoked")
    client_id, private_id, scope, granted, auth_time, acr = row[3:_GRANT_END]
    with ctx.sessions() as db:  # connects only when the client is not cached
        client = ctx.clients.get(db, client_id)
    released = disclosure.userinfo_claims(
        ctx.claims, private_id, scope.split(), granted.get("request", {}),
        frozenset(granted.get("allowed", [])), issuer=ctx.issuer, auth_time=auth_time,
        acr=acr, read=lambda proven: along.claims(row[_GRANT_END:], proven))
    return {**released, "sub": subject(client, private_id, ctx.pairwise_salt)}


_GRANT_END = len(sql.ACCESS_GRANT.selected_columns)


@functools.lru_cache(maxsize=4)
def _userinfo_read(source: ClaimsSource) -> tuple[Prepared, ClaimsAlong]:
    """The access token's record and grant (``token_sql.ACCESS_GRANT``) with ``source``'s claims
    of the grant's person: built once per claims source."""
    along = source.along(sql.GRANTS.c.private_id)
    return Prepared(sql.ACCESS_GRANT.add_columns(*along.columns)), along


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
