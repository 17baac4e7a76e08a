"""The token endpoint's grants and the tokens they issue (OIDC Core §3.1.3, RFC 6749 §4.1.3,
§6; RFC 7636 §4.6; RFC 9068; RFC 9700 §4.14 for refresh token rotation).

Hot path: one transaction per request, cached client and key objects; on PostgreSQL one
autocommit statement (``token_sql.EXCHANGE_CODE``, ``ROTATE_AND_ISSUE``), with the token values
made beforehand, that appends its audit entry itself (``idp.audit.append``, "an entry appended by
the statement it is about"): one round trip and one commit per request (an entry committed on
its own cost a second durable commit, ~8% of a login's wall time; a transaction around the
statement and its entry took three more round trips, with the audit head's lock held across one
of them: docs/benchmarks.md, "Token endpoint over a network"). A code is
redeemed by a conditional UPDATE, so two concurrent redemptions cannot both succeed; a refused
code stays consumed (one try per code); a second redemption revokes every token issued from the
code (RFC 6749 §4.1.2), as does a redemption by another client, and a second use of a rotated
refresh token revokes the whole grant (RFC 9700 §4.14.2). Every refusal is audited
(``token.refused``), an invalid_grant in the transaction that decided it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import secrets
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from idp.audit import append
from idp.audit import entries as audit
from idp.audit import log as audit_log
from idp.oidc import client_credentials, device, device_codes, disclosure
from idp.oidc import token_sql as sql
from idp.oidc.clients import ClientInfo
from idp.oidc.context import OidcContext, now
from idp.oidc.errors import (
    InvalidGrantError,
    InvalidRequestError,
    OidcError,
    UnsupportedGrantTypeError,
)
from idp.oidc.pairwise import subject
from idp.oidc.prepared import Transaction, transaction, write_one

log = logging.getLogger(__name__)
Issued = tuple[dict[str, Any], sql.GrantInfo]  # the token response, and the grant it is of


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def session_sid(session_id: str | None) -> str | None:
    """The ``sid`` claim: names the login session without revealing its cookie value."""
    return digest("sid:" + session_id)[:32] if session_id else None


def token_response(ctx: OidcContext, client: ClientInfo, form: Mapping[str, str]) -> \
        dict[str, Any]:
    """The grant's tokens; every refusal but "not yet" (a device still waiting) is audited."""
    grant_type = form.get("grant_type")
    try:
        return _grant_response(ctx, client, grant_type, form)
    except OidcError as error:
        if not error.audited and error.code not in _NOT_YET:
            record_refusal(ctx, client, grant_type, error)
        raise


# A device polling before the person approved (RFC 8628 §3.5): the protocol's waiting, every
# few seconds, not a refusal of anything.
_NOT_YET = frozenset({"authorization_pending", "slow_down"})


def _grant_response(ctx: OidcContext, client: ClientInfo, grant_type: str | None,
                    form: Mapping[str, str]) -> dict[str, Any]:
    if grant_type == "authorization_code":
        return _exchange_code(ctx, client, form)
    if grant_type == "refresh_token":
        return _refresh(ctx, client, form)
    if grant_type == "client_credentials":  # a relying party's Shared Signals stream
        response = client_credentials.token_response(ctx, client, form)
        ctx.audit.record("token.issued", actor=audit.client(client.client_id),
                         details={"grant_type": grant_type, "scope": response["scope"]})
        return response
    if grant_type == device_codes.GRANT_TYPE:  # a TV polling (RFC 8628 §3.4)
        return device.token_response(ctx, client, form)[0]
    raise UnsupportedGrantTypeError("grant_type must be authorization_code, refresh_token, "
                                    "client_credentials or " + device_codes.GRANT_TYPE)


def record_refusal(ctx: OidcContext, client: ClientInfo | None, grant_type: str | None,
                   error: OidcError, *, tx: Transaction | None = None,
                   grant: sql.GrantInfo | None = None, claimed: str | None = None) -> None:
    """The audit entry of a refused token request (in ``tx`` when given, else a commit of its
    own): who asked (``claimed``: the client_id of a client that failed to authenticate), the
    error and its sentence (never the code, token or secret presented)."""
    entry = _refusal_entry(client.client_id if client else None, grant_type, error,
                           claimed=claimed,
                           grant_id=grant.id if grant else None,
                           private_id=grant.private_id if grant else None)
    if tx is not None:
        tx.record(ctx.audit, "token.refused", **entry)
    else:
        ctx.audit.record("token.refused", **entry)
    error.audited = True


def _refusal_entry(client_id: str | None, grant_type: str | None, error: OidcError, *,
                   claimed: str | None = None, grant_id: str | None = None,
                   private_id: str | None = None) -> dict[str, Any]:
    details: dict[str, Any] = {"grant_type": grant_type and grant_type[:64], "error": error.code,
                               "reason": error.description}
    if claimed is not None:
        details["client_id"] = claimed
    if grant_id is not None:
        details["grant"] = grant_id
    return {"actor": audit.client(client_id) if client_id else audit.anonymous(),
            "target": audit.person(private_id) if private_id is not None else None,
            "outcome": "refused", "details": details}


def _refused_in(ctx: OidcContext, tx: Transaction, client: ClientInfo, grant_type: str,
                error: OidcError, grant: sql.GrantInfo | None = None) -> OidcError:
    record_refusal(ctx, client, grant_type, error, tx=tx, grant=grant)
    return error


def _record_issued(ctx: OidcContext, tx: Transaction, client: ClientInfo, grant_type: str,
                   grant: sql.GrantInfo) -> None:
    """The audit entry of tokens issued, in the transaction that stores them (never the
    tokens): no commit of its own (docs/benchmarks.md, "Audit log")."""
    tx.record(ctx.audit, "token.issued", **_issued_entry(client.client_id, grant_type,
                                                         grant.private_id,
                                                         grant.id, grant.acr, grant.amr,
                                                         grant.scope))


def _issued_entry(client_id: str, grant_type: str, private_id: str, grant: str,
                  acr: str | None, amr: Any, scope: str) -> dict[str, Any]:
    return {"actor": audit.client(client_id), "target": audit.person(private_id),
            "details": {"grant_type": grant_type, "acr": acr, "amr": amr, "scope": scope,
                        "grant": grant}}


def _entry_params(client: ClientInfo, grant_type: str, *, refusable: bool) -> dict[str, Any]:
    """The parameters of the audit entry a one-statement exchange (``refusable``) or rotation
    appends itself (``token_sql._entry``): the entries ``_record_issued`` and ``record_refusal``
    write, the grant's values, the time and the request id as slots the statement fills."""
    return _templates(client.client_id, grant_type, refusable) | audit_log.run_params()


@functools.lru_cache(maxsize=1024)
def _templates(client_id: str, grant_type: str, refusable: bool) -> dict[str, Any]:
    """The entry templates of a client's exchanges or rotations: the same for each one."""
    slots = {name: append.slot(name) for name in sql.ENTRY_SLOTS}
    person = append.slot(sql.PERSON_SLOT)
    entries = [("issued", ("token.issued", _issued_entry(
        client_id, grant_type, person, slots["grant"], slots["acr"], slots["amr"],
        slots["scope"])))]
    if refusable:
        entries.append(("refused", ("token.refused", _refusal_entry(
            client_id, grant_type, InvalidGrantError(slots["reason"]), grant_id=slots["grant"],
            private_id=person))))
    return append.template_params(audit_log.template_bodies(*entries))


_CODE, _REFRESH = "authorization_code", "refresh_token"


def _exchange_code(ctx: OidcContext, client: ClientInfo, form: Mapping[str, str]) -> \
        dict[str, Any]:
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
            grant = sql.GrantInfo.of(redeemed[3:])
            reason = sql.code_refusal(sql.RedeemedCode(*redeemed[:3]), sql.PresentedCode(
                now(), form.get("redirect_uri"), s256(verifier)))
            if reason is None:
                return issue(ctx, tx, client, grant, _CODE)[0]
            refused = _refused_in(ctx, tx, client, _CODE, InvalidGrantError(
                sql.REFUSALS[reason]), grant)  # stays consumed: one try per code
        else:
            refused = _refused_in(ctx, tx, client, _CODE, _refused_code(tx, keys))
    raise refused  # after the block: the consumption or revocation commits, with its entry


def _exchange_in_one_statement(ctx: OidcContext, engine: Engine, client: ClientInfo,
                               keys: dict[str, Any]) -> dict[str, Any]:
    """The code redeemed, checked, its tokens stored and the audit entry of either appended by
    one autocommit statement: one round trip, one commit. A statement that redeemed nothing
    wrote nothing; a transaction then says why (and revokes), with its entry."""
    minted = _Minted.new(client)
    if not statement_entries(engine):
        return _exchange_then_entry(ctx, engine, client, keys, minted)
    row = write_one(engine, sql.EXCHANGE_CODE_AUDITED, keys | minted.rows(ctx) | _entry_params(
        client, _CODE, refusable=True))
    if row is None:
        with transaction(engine) as tx:
            refused = _refused_in(ctx, tx, client, _CODE, _refused_code(tx, keys))
        raise refused
    if row[0] is not None:  # consumed all the same (one try per code), and audited
        error = InvalidGrantError(sql.REFUSALS[row[0]])
        error.audited = True
        raise error
    return _response(ctx, client, sql.GrantInfo.of(row[1:]), minted)[0]  # signed once committed


def _exchange_then_entry(ctx: OidcContext, engine: Engine, client: ClientInfo,
                         keys: dict[str, Any], minted: _Minted) -> dict[str, Any]:
    """The exchange's statement, then its audit entry from Python, in one transaction (a
    PostgreSQL that does not write JSON as Python does: ``statement_entries``)."""
    with transaction(engine) as tx:
        row = tx.first(sql.EXCHANGE_CODE, keys | minted.rows(ctx))
        if row is None:
            refused = _refused_in(ctx, tx, client, _CODE, _refused_code(tx, keys))
        else:
            grant = sql.GrantInfo.of(row[1:])
            if row[0] is None:
                _record_issued(ctx, tx, client, _CODE, grant)
                refused = None
            else:  # consumed all the same: one try per code
                refused = _refused_in(ctx, tx, client, _CODE,
                                      InvalidGrantError(sql.REFUSALS[row[0]]), grant)
    if refused is not None:
        raise refused
    return _response(ctx, client, grant, minted)[0]


_STATEMENT_ENTRIES: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def statement_entries(engine: Engine) -> bool:
    """Whether the one-statement exchange and rotation append their audit entries themselves:
    when PostgreSQL writes JSON strings as the audit log's canonical encoding does, checked
    once per engine (``idp.audit.append.writes_json_as_python``); otherwise the entry is
    appended from Python in the statement's transaction, as every other entry is."""
    found = _STATEMENT_ENTRIES.get(engine)
    if found is None:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            found = append.writes_json_as_python(connection)  # one round trip, once
        if not found:
            log.warning("PostgreSQL writes JSON strings unlike the audit log's canonical "
                        "encoding: token entries are appended from Python, in the exchange's "
                        "transaction (three more round trips per token request)")
        _STATEMENT_ENTRIES[engine] = found
    return found


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


def _refresh(ctx: OidcContext, client: ClientInfo, form: Mapping[str, str]) -> dict[str, Any]:
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
            return issue(ctx, tx, client, sql.GrantInfo.of(rotated), _REFRESH)[0]
        refused = _refused_in(ctx, tx, client, _REFRESH, _refused_refresh(tx, keys))
    raise refused  # after the block: the revocation commits, with its entry


def _rotate_in_one_statement(ctx: OidcContext, engine: Engine, client: ClientInfo,
                             keys: dict[str, Any]) -> dict[str, Any]:
    """Rotation, the new tokens and their audit entry in one autocommit statement; when the
    refresh token did not rotate (nothing written), a transaction says why (and revokes)."""
    minted = _Minted.new(client)
    if not statement_entries(engine):
        with transaction(engine) as tx:
            rotated = tx.first(sql.ROTATE_AND_ISSUE, keys | minted.rows(ctx))
            if rotated is None:
                refused = _refused_in(ctx, tx, client, _REFRESH, _refused_refresh(tx, keys))
            else:
                _record_issued(ctx, tx, client, _REFRESH, sql.GrantInfo.of(rotated))
    else:
        rotated = write_one(engine, sql.ROTATE_AND_ISSUE_AUDITED, keys | minted.rows(
            ctx) | _entry_params(client, _REFRESH, refusable=False))
        if rotated is None:  # nothing written: a transaction says why (and revokes)
            with transaction(engine) as tx:
                refused = _refused_in(ctx, tx, client, _REFRESH, _refused_refresh(tx, keys))
    if rotated is None:
        raise refused
    return _response(ctx, client, sql.GrantInfo.of(rotated), minted)[0]


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


def issue(ctx: OidcContext, tx: Transaction, client: ClientInfo, grant: sql.GrantInfo,
          grant_type: str) -> Issued:
    """Access token, ID token and a new refresh token for ``grant``, stored in ``tx`` with the
    audit entry of their issue (``grant_type``: the grant that issued them)."""
    minted = _Minted.new(client)
    tx.execute(sql.INSERT_TOKENS, {**minted.rows(ctx), "b_grant": grant.id})
    _record_issued(ctx, tx, client, grant_type, grant)
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
                                                 issuer=ctx.issuer, auth_time=grant.auth_time,
                                                 acr=grant.acr))
    return ctx.keys.sign(claims, client.id_token_alg)
