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

from sqlalchemy import Engine

from idp.oidc import claims as claim_rules
from idp.oidc import token_sql as sql
from idp.oidc.clients import ClientInfo
from idp.oidc.context import OidcContext, now
from idp.oidc.errors import InvalidGrantError, InvalidRequestError, UnsupportedGrantTypeError
from idp.oidc.pairwise import subject
from idp.oidc.prepared import Transaction, transaction


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
    keys = {"b_code": digest(code), "b_client": client.client_id}
    with transaction(_engine(ctx)) as tx:
        redeemed = tx.first(sql.REDEEM_CODE, keys)
        if redeemed is not None:
            try:
                _check_code(redeemed, form.get("redirect_uri"), verifier)
            except InvalidGrantError as error:
                refused = error  # the code stays consumed: one try per code
            else:
                return issue(ctx, tx, client, sql.GrantInfo.of(redeemed[3:]))
        else:
            refused = _refused_code(tx, keys)
    raise refused  # after the block: the consumption or revocation commits


def _engine(ctx: OidcContext) -> Engine:
    engine: Engine = ctx.sessions.kw["bind"]
    return engine


def _refused_code(tx: Transaction, keys: dict[str, str]) -> InvalidGrantError:
    """Why a code did not redeem; a replay revokes every token issued from it (RFC 6749
    §4.1.2)."""
    replayed = tx.first(sql.REVOKE_REPLAYED_CODE, keys)
    if replayed is not None:
        tx.execute(sql.REVOKE_GRANT_TOKENS, {"b_grant": replayed[0]})
        return InvalidGrantError("the code was already used; its tokens are now revoked")
    if tx.first(sql.CODE_OWNER, keys) is None:
        return InvalidGrantError("unknown authorization code")
    return InvalidGrantError("the code was not issued to this client")


def _check_code(redeemed: tuple[Any, ...], redirect_uri: str | None, verifier: str) -> None:
    """``redeemed``: the code's redirect_uri, code_challenge and expires_at first."""
    registered_uri, challenge, expires_at = redeemed[:3]
    if expires_at < now():
        raise InvalidGrantError("the authorization code has expired")
    if redirect_uri != registered_uri:
        raise InvalidGrantError("redirect_uri differs from the authorization request's")
    computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii", "replace"))
                                        .digest()).rstrip(b"=").decode()
    if not hmac.compare_digest(computed, challenge):
        raise InvalidGrantError("code_verifier does not match the code_challenge (PKCE)")


def _refresh(ctx: OidcContext, client: ClientInfo, form: Mapping[str, str]) -> dict[str, Any]:
    presented = form.get("refresh_token")
    if not presented:
        raise InvalidRequestError("refresh_token is required")
    keys = {"b_key": digest(presented), "b_client": client.client_id, "b_now": now()}
    with transaction(_engine(ctx)) as tx:
        rotated = tx.first(sql.ROTATE_REFRESH, keys)
        if rotated is not None:
            return issue(ctx, tx, client, sql.GrantInfo.of(rotated))
        replayed = tx.first(sql.REVOKE_REPLAYED_REFRESH, keys)
        if replayed is not None:
            tx.execute(sql.REVOKE_GRANT_TOKENS, {"b_grant": replayed[0]})
            refused = InvalidGrantError(
                "the refresh token was already used: every token of this grant is revoked")
        elif (tx.first(sql.REFRESH_OWNER, keys) or (None,))[0] != client.client_id:
            refused = InvalidGrantError("unknown refresh token")
        else:
            refused = InvalidGrantError("the refresh token is revoked or expired")
    raise refused  # after the block: the revocation above commits


def issue(ctx: OidcContext, tx: Transaction, client: ClientInfo, grant: sql.GrantInfo) -> \
        dict[str, Any]:
    """Access token, ID token and a new refresh token for ``grant``."""
    issued, settings = now(), ctx.settings
    sub = subject(client, grant.private_id, ctx.pairwise_salt)
    access_token, access_key = _access_token(ctx, client, grant, sub, issued)
    refresh_token = secrets.token_urlsafe(32)
    common = {"grant_id": grant.id, "issued_at": issued, "used": False, "revoked": False}
    rows = {"access": {**common, "key": access_key, "kind": "access",
                       "expires_at": issued + settings.access_token_lifetime_seconds},
            "refresh": {**common, "key": digest(refresh_token), "kind": "refresh",
                        "expires_at": issued + settings.refresh_token_lifetime_seconds}}
    tx.execute(sql.INSERT_TOKENS, {f"{row}_{name}": value for row, values in rows.items()
                                   for name, value in values.items()})
    return {"access_token": access_token, "token_type": "Bearer",
            "expires_in": settings.access_token_lifetime_seconds,
            "refresh_token": refresh_token, "scope": grant.scope,
            "id_token": id_token(ctx, client, grant, sub, issued)}


def _access_token(ctx: OidcContext, client: ClientInfo, grant: sql.GrantInfo, sub: str,
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


def id_token(ctx: OidcContext, client: ClientInfo, grant: sql.GrantInfo, sub: str,
             issued: int) -> str:
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
