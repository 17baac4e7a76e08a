"""The token endpoint's grants and the tokens they issue (OIDC Core §3.1.3, RFC 6749 §4.1.3,
§6; RFC 7636 §4.6; RFC 9068; RFC 9700 §4.14 for refresh token rotation).

Hot path: one transaction per request, cached client and key objects. A code is redeemed by a
conditional UPDATE, so two concurrent redemptions cannot both succeed; a second redemption
revokes every token issued from the code (RFC 6749 §4.1.2), and a second use of a rotated
refresh token revokes the whole grant (RFC 9700 §4.14.2).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idp.oidc import claims as claim_rules
from idp.oidc.clients import ClientInfo
from idp.oidc.context import OidcContext, now
from idp.oidc.errors import InvalidGrantError, InvalidRequestError, UnsupportedGrantTypeError
from idp.oidc.models import AuthorizationCode, Grant, Token
from idp.oidc.pairwise import subject


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def session_sid(session_id: str | None) -> str | None:
    """The ``sid`` claim: names the login session without revealing its cookie value."""
    return digest("sid:" + session_id)[:32] if session_id else None


def token_response(ctx: OidcContext, client: ClientInfo, form: Mapping[str, str]) -> \
        dict[str, Any]:
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        return _exchange_code(ctx, client, form)
    if grant_type == "refresh_token":
        return _refresh(ctx, client, form)
    raise UnsupportedGrantTypeError("grant_type must be authorization_code or refresh_token")


def _exchange_code(ctx: OidcContext, client: ClientInfo, form: Mapping[str, str]) -> \
        dict[str, Any]:
    code, verifier = form.get("code"), form.get("code_verifier")
    if not code or not verifier:
        raise InvalidRequestError("code and code_verifier are required")
    refused: InvalidGrantError | None = None
    with ctx.sessions() as db, db.begin():
        # One round trip for the code and its grant (the token endpoint is the hot path).
        found = db.execute(select(AuthorizationCode, Grant).join(
            Grant, Grant.id == AuthorizationCode.grant_id).where(
            AuthorizationCode.code_hash == digest(code))).first()
        if found is None:
            raise InvalidGrantError("unknown authorization code")
        row, grant = found
        if grant.client_id != client.client_id:
            raise InvalidGrantError("the code was not issued to this client")
        redeemed = db.execute(update(AuthorizationCode).where(
            AuthorizationCode.code_hash == row.code_hash, AuthorizationCode.used.is_(False))
            .values(used=True)).rowcount  # type: ignore[attr-defined]
        if not redeemed:
            _revoke_grant(db, grant.id)
            refused = InvalidGrantError("the code was already used; its tokens are now revoked")
        else:
            try:
                _check_code(row, form.get("redirect_uri"), verifier)
            except InvalidGrantError as error:
                refused = error  # the code stays consumed: one try per code
            else:
                return issue(ctx, db, client, grant)
    raise refused


def _check_code(row: AuthorizationCode, redirect_uri: str | None, verifier: str) -> None:
    if row.expires_at < now():
        raise InvalidGrantError("the authorization code has expired")
    if redirect_uri != row.redirect_uri:
        raise InvalidGrantError("redirect_uri differs from the authorization request's")
    computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii", "replace"))
                                        .digest()).rstrip(b"=").decode()
    if not hmac.compare_digest(computed, row.code_challenge):
        raise InvalidGrantError("code_verifier does not match the code_challenge (PKCE)")


def _refresh(ctx: OidcContext, client: ClientInfo, form: Mapping[str, str]) -> dict[str, Any]:
    presented = form.get("refresh_token")
    if not presented:
        raise InvalidRequestError("refresh_token is required")
    key = digest(presented)
    with ctx.sessions() as db, db.begin():
        row = db.get(Token, key)
        grant = db.get(Grant, row.grant_id) if row and row.kind == "refresh" else None
        if row is None or grant is None or grant.client_id != client.client_id:
            raise InvalidGrantError("unknown refresh token")
        if grant.revoked or row.revoked or row.expires_at < now():
            raise InvalidGrantError("the refresh token is revoked or expired")
        rotated = db.execute(update(Token).where(Token.key == key, Token.used.is_(False))
                             .values(used=True)).rowcount  # type: ignore[attr-defined]
        if rotated:
            return issue(ctx, db, client, grant)
        _revoke_grant(db, grant.id)
    raise InvalidGrantError(
        "the refresh token was already used: every token of this grant is revoked")


def _revoke_grant(db: Session, grant_id: str) -> None:
    db.execute(update(Grant).where(Grant.id == grant_id).values(revoked=True))
    db.execute(update(Token).where(Token.grant_id == grant_id).values(revoked=True))


def issue(ctx: OidcContext, db: Session, client: ClientInfo, grant: Grant) -> dict[str, Any]:
    """Access token, ID token and a new refresh token for ``grant``."""
    issued, settings = now(), ctx.settings
    sub = subject(client, grant.private_id, ctx.pairwise_salt)
    access_token, access_key = _access_token(ctx, client, grant, sub, issued)
    refresh_token = secrets.token_urlsafe(32)
    db.add_all([
        Token(key=access_key, kind="access", grant_id=grant.id, issued_at=issued,
              expires_at=issued + settings.access_token_lifetime_seconds, used=False,
              revoked=False),
        Token(key=digest(refresh_token), kind="refresh", grant_id=grant.id, issued_at=issued,
              expires_at=issued + settings.refresh_token_lifetime_seconds, used=False,
              revoked=False),
    ])
    return {"access_token": access_token, "token_type": "Bearer",
            "expires_in": settings.access_token_lifetime_seconds,
            "refresh_token": refresh_token, "scope": grant.scope,
            "id_token": id_token(ctx, client, grant, sub, issued)}


def _access_token(ctx: OidcContext, client: ClientInfo, grant: Grant, sub: str,
                  issued: int) -> tuple[str, str]:
    if client.access_token_format == "opaque":  # noqa: S105  (a format name, not a secret)
        value = secrets.token_urlsafe(32)
        return value, digest(value)
    jti = secrets.token_urlsafe(16)
    claims = {"iss": ctx.issuer, "sub": sub, "aud": ctx.issuer, "client_id": client.client_id,
              "iat": issued, "exp": issued + ctx.settings.access_token_lifetime_seconds,
              "jti": jti, "scope": grant.scope, "auth_time": grant.auth_time,
              "acr": grant.acr, "amr": grant.amr}
    return ctx.keys.sign(claims, "ES256", typ="at+jwt"), "jti:" + jti


def id_token(ctx: OidcContext, client: ClientInfo, grant: Grant, sub: str, issued: int) -> str:
    claims: dict[str, Any] = {
        "iss": ctx.issuer, "sub": sub, "aud": client.client_id, "azp": client.client_id,
        "iat": issued, "exp": issued + ctx.settings.id_token_lifetime_seconds,
        "auth_time": grant.auth_time, "amr": grant.amr}
    if grant.acr:
        claims["acr"] = grant.acr
    if grant.nonce:
        claims["nonce"] = grant.nonce
    if sid := session_sid(grant.session_id):
        claims["sid"] = sid
    request = grant.claims.get("request", {})
    if request.get("id_token"):
        allowed = frozenset(grant.claims.get("allowed", []))
        available = ctx.claims.claims_for(grant.private_id)
        claims.update(claim_rules.id_token_claims(available, request, allowed))
    return ctx.keys.sign(claims, client.id_token_alg)
