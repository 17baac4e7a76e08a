"""The token endpoint's grants and the tokens they issue (OIDC Core §3.1.3, RFC 6749 §4.1.3,
§6; RFC 7636 §4.6; RFC 9068; RFC 9700 §4.14 for refresh token rotation).

Hot path: one transaction per request, cached client and key objects; on PostgreSQL one
autocommit statement (``token_sql.EXCHANGE_CODE``, ``ROTATE_AND_ISSUE``), with the token values
made beforehand. A code is redeemed by a conditional UPDATE, so two concurrent redemptions cannot
both succeed; a refused code stays consumed (one try per code); a second redemption revokes every
token issued from the code (RFC 6749 §4.1.2), as does a redemption by another client, and a second
use of a rotated refresh token revokes the whole grant (RFC 9700 §4.14.2).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from idp.audit import entries as audit
from idp.oidc import client_credentials, device, device_codes, disclosure
from idp.oidc import token_sql as sql
from idp.oidc.clients import ClientInfo
from idp.oidc.context import OidcContext, now
from idp.oidc.errors import InvalidGrantError, InvalidRequestError, UnsupportedGrantTypeError
from idp.oidc.pairwise import subject
from idp.oidc.prepared import Transaction, transaction, write_one

Issued = tuple[dict[str, Any], sql.GrantInfo]  # the token response, and the grant it is of


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def session_sid(session_id: str | None) -> str | None:
    """The ``sid`` claim: names the login session without revealing its cookie value."""
    return digest("sid:" + session_id)[:32] if session_id else None


def token_response(ctx: OidcContext, client: ClientInfo, form: Mapping[str, str]) -> \
        dict[str, Any]:
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        return _audited(ctx, client, grant_type, *_exchange_code(ctx, client, form))
    if grant_type == "refresh_token":
        return _audited(ctx, client, grant_type, *_refresh(ctx, client, form))
    if grant_type == "client_credentials":  # a relying party's Shared Signals stream
        response = client_credentials.token_response(ctx, client, form)
        ctx.audit.record("token.issued", actor=audit.client(client.client_id),
                         details={"grant_type": grant_type, "scope": response["scope"]})
        return response
    if grant_type == device_codes.GRANT_TYPE:  # a TV polling (RFC 8628 §3.4)
        return _audited(ctx, client, grant_type, *device.token_response(ctx, client, form))
    raise UnsupportedGrantTypeError("grant_type must be authorization_code, refresh_token, "
                                    "client_credentials or " + device_codes.GRANT_TYPE)


def _audited(ctx: OidcContext, client: ClientInfo, grant_type: str, response: dict[str, Any],
             grant: sql.GrantInfo) -> dict[str, Any]:
    """The audit entry of tokens issued (after their transaction: never the tokens)."""
    ctx.audit.record("token.issued", actor=audit.client(client.client_id),
                     target=audit.person(grant.private_id),
                     details={"grant_type": grant_type, "acr": grant.acr, "amr": grant.amr,
                              "scope": grant.scope, "grant": grant.id})
    return response


def _exchange_code(ctx: OidcContext, client: ClientInfo, form: Mapping[str, str]) -> Issued:
    code, verifier = form.get("code"), form.get("code_verifier")
    if not code or not verifier:
        raise InvalidRequestError("code and code_verifier are required")
    keys = {"b_code": digest(code), "b_client": client.client_id}
    engine = engine_of(ctx)
    if engine.dialect.name in sql.ONE_STATEMENT_DIALECTS:
        return _exchange_in_one_statement(ctx, engine, client, keys | {
            "b_challenge": s256(verifier), "b_redirect": form.get("redirect_uri")})
    with transaction(engine) as tx:
        redeemed = tx.first(sql.REDEEM_CODE, keys)
        if redeemed is not None:
            reason = sql.code_refusal(sql.RedeemedCode(*redeemed[:3]), sql.PresentedCode(
                now(), form.get("redirect_uri"), s256(verifier)))
            if reason is None:
                return issue(ctx, tx, client, sql.GrantInfo.of(redeemed[3:]))
            refused = InvalidGrantError(sql.REFUSALS[reason])  # stays consumed: one try per code
        else:
            refused = _refused_code(tx, keys)
    raise refused  # after the block: the consumption or revocation commits


def _exchange_in_one_statement(ctx: OidcContext, engine: Engine, client: ClientInfo,
                               keys: dict[str, Any]) -> Issued:
    """The code redeemed, checked and its tokens stored by one autocommit statement; a second
    transaction only when no code of this client's was redeemable, to say why (and revoke)."""
    minted = _Minted.new(client)
    row = write_one(engine, sql.EXCHANGE_CODE, keys | minted.rows(ctx))
    if row is None:
        with transaction(engine) as tx:
            refused = _refused_code(tx, keys)
        raise refused
    if row[0] is not None:  # consumed all the same: one try per code
        raise InvalidGrantError(sql.REFUSALS[row[0]])
    return _response(ctx, client, sql.GrantInfo.of(row[1:]), minted)


def engine_of(ctx: OidcContext) -> Engine:
    engine: Engine = ctx.sessions.kw["bind"]
    return engine


def _refused_code(tx: Transaction, keys: Mapping[str, Any]) -> InvalidGrantError:
    """Why a code did not redeem; a replay revokes every token issued from it (RFC 6749
    §4.1.2). Its own statements, after the redemption's: a redemption that lost a race to a
    concurrent one sees the winner's commit here, and revokes its tokens too.

    Another client's code has leaked: it is spent and its grant revoked, with any token
    issued from it, so that its own client cannot use it either (RFC 9700 §4.5)."""
    replayed = tx.first(sql.REVOKE_REPLAYED_CODE, keys)
    if replayed is not None:
        tx.execute(sql.REVOKE_GRANT_TOKENS, {"b_grant": replayed[0]})
        return InvalidGrantError("the code was already used; its tokens are now revoked")
    leaked = tx.first(sql.REVOKE_LEAKED_CODE, keys)
    if leaked is None:
        return InvalidGrantError("unknown authorization code")
    tx.execute(sql.SPEND_CODE, keys)
    tx.execute(sql.REVOKE_GRANT_TOKENS, {"b_grant": leaked[0]})
    return InvalidGrantError("the code was not issued to this client; it is now revoked")


def s256(verifier: str) -> str:
    """The PKCE S256 code challenge of ``verifier`` (RFC 7636 §4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii", "replace"))
                                    .digest()).rstrip(b"=").decode()


def _refresh(ctx: OidcContext, client: ClientInfo, form: Mapping[str, str]) -> Issued:
    presented = form.get("refresh_token")
    if not presented:
        raise InvalidRequestError("refresh_token is required")
    keys = {"b_key": digest(presented), "b_client": client.client_id, "b_now": now()}
    engine = engine_of(ctx)
    if engine.dialect.name in sql.ONE_STATEMENT_DIALECTS:
        return _rotate_in_one_statement(ctx, engine, client, keys)
    with transaction(engine) as tx:
        rotated = tx.first(sql.ROTATE_REFRESH, keys)
        if rotated is not None:
            return issue(ctx, tx, client, sql.GrantInfo.of(rotated))
        refused = _refused_refresh(tx, keys)
    raise refused  # after the block: the revocation commits


def _rotate_in_one_statement(ctx: OidcContext, engine: Engine, client: ClientInfo,
                             keys: dict[str, Any]) -> Issued:
    """Rotation and the new tokens in one autocommit statement; a second transaction only
    when the refresh token did not rotate, to say why (and revoke)."""
    minted = _Minted.new(client)
    rotated = write_one(engine, sql.ROTATE_AND_ISSUE, keys | minted.rows(ctx))
    if rotated is None:
        with transaction(engine) as tx:
            refused = _refused_refresh(tx, keys)
        raise refused
    return _response(ctx, client, sql.GrantInfo.of(rotated), minted)


def _refused_refresh(tx: Transaction, keys: Mapping[str, Any]) -> InvalidGrantError:
    """Why a refresh token did not rotate; a second use of a rotated one revokes the whole
    grant (RFC 9700 §4.14.2)."""
    replayed = tx.first(sql.REVOKE_REPLAYED_REFRESH, keys)
    if replayed is not None:
        tx.execute(sql.REVOKE_GRANT_TOKENS, {"b_grant": replayed[0]})
        return InvalidGrantError(
            "the refresh token was already used: every token of this grant is revoked")
    if (tx.first(sql.REFRESH_OWNER, keys) or (None,))[0] != keys["b_client"]:
        return InvalidGrantError("unknown refresh token")
    return InvalidGrantError("the refresh token is revoked or expired")


@dataclass(frozen=True)
class _Minted:
    """The random values of one issuance, made before the statement that stores their
    digests: the opaque access token or the JWT access token's jti, and the refresh token."""

    access: str
    opaque: bool
    refresh: str
    issued: int

    @classmethod
    def new(cls, client: ClientInfo) -> _Minted:
        opaque = client.access_token_format == "opaque"  # noqa: S105  (a format name)
        return cls(secrets.token_urlsafe(32 if opaque else 16), opaque,
                   secrets.token_urlsafe(32), now())

    def rows(self, ctx: OidcContext) -> dict[str, Any]:
        """The token INSERT's parameters (``token_sql._token_values``)."""
        settings = ctx.settings
        return {"access_key": digest(self.access) if self.opaque else "jti:" + self.access,
                "access_expires_at": self.issued + settings.access_token_lifetime_seconds,
                "refresh_key": digest(self.refresh),
                "refresh_expires_at": self.issued + settings.refresh_token_lifetime_seconds,
                "b_now": self.issued}


def issue(ctx: OidcContext, tx: Transaction, client: ClientInfo, grant: sql.GrantInfo) -> \
        Issued:
    """Access token, ID token and a new refresh token for ``grant``, stored in ``tx``."""
    minted = _Minted.new(client)
    tx.execute(sql.INSERT_TOKENS, {**minted.rows(ctx), "b_grant": grant.id})
    return _response(ctx, client, grant, minted)


def _response(ctx: OidcContext, client: ClientInfo, grant: sql.GrantInfo, minted: _Minted) -> \
        Issued:
    """The token response (RFC 6749 §5.1) for tokens already stored."""
    sub = subject(client, grant.private_id, ctx.pairwise_salt)
    lifetime = ctx.settings.access_token_lifetime_seconds
    access_token = minted.access if minted.opaque else _jwt_access_token(
        ctx, client, grant, sub, minted)
    response = {"access_token": access_token, "token_type": "Bearer", "expires_in": lifetime,
                "refresh_token": minted.refresh, "scope": grant.scope,
                "id_token": id_token(ctx, client, grant, sub, minted.issued)}
    if "authorization_details" in grant.claims:  # RFC 9396 §7: what was authorized (signed)
        response["authorization_details"] = grant.claims["authorization_details"]
    return response, grant


def _jwt_access_token(ctx: OidcContext, client: ClientInfo, grant: sql.GrantInfo, sub: str,
                      minted: _Minted) -> str:
    """An RFC 9068 access token; stored by its jti."""
    claims = {"iss": ctx.issuer, "sub": sub, "aud": ctx.issuer, "client_id": client.client_id,
              "iat": minted.issued,
              "exp": minted.issued + ctx.settings.access_token_lifetime_seconds,
              "jti": minted.access, "scope": grant.scope, "auth_time": grant.auth_time,
              "acr": grant.acr, "amr": grant.amr}
    return ctx.keys.sign(claims, "ES256", typ="at+jwt")


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
        claims.update(disclosure.id_token_claims(ctx.claims, grant.private_id, request, allowed,
                                                 issuer=ctx.issuer, auth_time=grant.auth_time))
    return ctx.keys.sign(claims, client.id_token_alg)
