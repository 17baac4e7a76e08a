"""The device authorization grant (RFC 8628): a TV or set-top box signs a person in without a
browser of its own.

1. The device asks for codes (:func:`start`, ``POST /device_authorization``, §3.1-§3.2): a
   secret device code it polls with, and a short user code it shows with the verification URI
   (and a QR code of ``verification_uri_complete``).
2. The person opens ``/device`` on their phone, types the code (:func:`find`), and goes through
   an ordinary interaction for the device's client (``Provider.start_device``): the usual login
   (passkey or card, with the anchor re-check), consent as for any relying party, then an
   explicit approval naming the device's service (§5.4, remote phishing). The interaction ends
   by :func:`decide`, which records the grant (approved) or the refusal (denied).
3. Meanwhile the device polls the token endpoint (:func:`token_response`, §3.4-§3.5): one
   conditional UPDATE per poll (``idp.oidc.device_sql``) answers ``authorization_pending``,
   ``slow_down``, ``access_denied`` or ``expired_token``, and issues the tokens exactly once,
   carrying the level (acr, amr, auth_time) of the sign-in that approved them.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.assurance import levels
from idp.oidc import device_codes as codes
from idp.oidc import device_sql as sql
from idp.oidc import token_sql, tokens
from idp.oidc.authorize import AuthorizationRequest
from idp.oidc.clients import ClientInfo
from idp.oidc.context import OidcContext, now
from idp.oidc.errors import (
    AccessDeniedError,
    AuthorizationPendingError,
    ExpiredTokenError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    InvalidUserCodeError,
    OidcError,
    SlowDownError,
    UnauthorizedClientError,
)
from idp.oidc.models import DeviceAuthorization
from idp.prepared import transaction

VERIFICATION_PATH = "/device"
DONE_PATH = "/device/done"  # where the interaction of a device ends (its "redirect URI")
_ATTEMPTS = 5  # new user codes tried when one is taken by a live request (20^8 codes)
_ERRORS: dict[str, type[OidcError]] = {
    "used": InvalidGrantError, "expired": ExpiredTokenError, "denied": AccessDeniedError,
    "slow_down": SlowDownError, "pending": AuthorizationPendingError,
    "inactive": AccessDeniedError}


@dataclass(frozen=True)
class PendingDevice:
    """A device authorization waiting for the person, found by its user code."""

    id: str
    client_id: str
    scope: tuple[str, ...]
    acr_values: tuple[str, ...]
    user_code: str  # normalised
    expires_at: int

    def request(self, issuer: str) -> AuthorizationRequest:
        """The authorization its interaction asks the person for: the device's scope and acr,
        ending at the IdP's own /device/done (a device has no redirect URI)."""
        return AuthorizationRequest(
            client_id=self.client_id, redirect_uri=issuer + DONE_PATH, scope=self.scope,
            state=None, nonce=None, code_challenge="", prompt=frozenset(), max_age=None,
            acr_values=self.acr_values, acr_essential=False, claims={},
            device={"id": self.id})  # never the user code: it is stored hashed only


# -- 1. the device authorization endpoint (§3.1, §3.2) ---------------------------------------
def start(ctx: OidcContext, client: ClientInfo, form: Mapping[str, str]) -> dict[str, Any]:
    """A new device authorization for ``client``: the device authorization response."""
    if codes.GRANT_TYPE not in client.grant_types:
        raise UnauthorizedClientError("this client is not registered for the device "
                                      "authorization grant (idp clients add --device)")
    scope = tuple(dict.fromkeys(form.get("scope", "openid").split()))
    if "openid" not in scope:
        raise InvalidScopeError("the scope must include openid")
    acr_values = tuple(v for v in (form.get("acr_values") or client.default_acr or "").split()
                       if levels.lookup(v))
    settings = ctx.settings
    issued, device_code = now(), codes.new_device_code()
    for _ in range(_ATTEMPTS):
        user_code = codes.new_user_code()
        try:
            with ctx.sessions() as db, db.begin():
                db.add(DeviceAuthorization(
                    id=secrets.token_urlsafe(18), device_code_hash=tokens.digest(device_code),
                    user_code_hash=codes.user_code_hash(user_code, ctx.cookie_secret),
                    client_id=client.client_id, scope=" ".join(scope),
                    acr_values=list(acr_values), status="pending",
                    interval=settings.device_poll_interval_seconds, created_at=issued,
                    expires_at=issued + settings.device_code_lifetime_seconds))
            break
        except IntegrityError:  # the user code of a stored request: draw another
            continue
    else:
        raise InvalidRequestError("no free user code was found; try again")
    verification_uri = ctx.endpoint(VERIFICATION_PATH)
    return {"device_code": device_code, "user_code": codes.display(user_code),
            "verification_uri": verification_uri,
            "verification_uri_complete": f"{verification_uri}?user_code={user_code}",
            "expires_in": settings.device_code_lifetime_seconds,
            "interval": settings.device_poll_interval_seconds}


# -- 2. the person on /device (§3.3) ---------------------------------------------------------
def find(ctx: OidcContext, typed: str) -> PendingDevice:
    """The pending device authorization whose user code the person typed; refused alike when
    the code is malformed, unknown, expired or already decided (nothing tells which)."""
    try:
        user_code = codes.normalise(typed)
    except codes.UserCodeFormatError as error:
        raise InvalidUserCodeError() from error
    with ctx.sessions() as db:
        row = db.scalar(select(DeviceAuthorization).where(
            DeviceAuthorization.user_code_hash == codes.user_code_hash(user_code,
                                                                       ctx.cookie_secret)))
        if row is None or row.status != "pending" or row.expires_at < now():
            raise InvalidUserCodeError()
        return PendingDevice(row.id, row.client_id, tuple(row.scope.split()),
                             tuple(row.acr_values), user_code, row.expires_at)


def decide(db: Session, device_id: str, grant_id: str | None) -> bool:
    """Record the person's decision: approved with ``grant_id``, or denied (None). Only a pending,
    unexpired request changes: whether it did."""
    status = "approved" if grant_id else "denied"
    changed = db.execute(update(DeviceAuthorization).where(
        DeviceAuthorization.id == device_id, DeviceAuthorization.status == "pending",
        DeviceAuthorization.expires_at >= now()).values(status=status, grant_id=grant_id))
    return bool(changed.rowcount == 1)  # type: ignore[attr-defined]


# -- 3. the device polls the token endpoint (§3.4, §3.5) -------------------------------------
def token_response(ctx: OidcContext, client: ClientInfo, form: Mapping[str, str]) -> \
        tokens.Issued:
    """The tokens, once, for an approved device code of ``client``; else the error of §3.5."""
    if codes.GRANT_TYPE not in client.grant_types:
        raise UnauthorizedClientError("this client is not registered for the device "
                                      "authorization grant")
    device_code = form.get("device_code")
    if not device_code:
        raise InvalidRequestError("device_code is required")
    keys = {"b_code": tokens.digest(device_code), "b_client": client.client_id, "b_now": now()}
    with transaction(tokens.engine_of(ctx)) as tx:
        row = tx.first(sql.POLL, keys)
        if row is None:
            refused: OidcError = InvalidGrantError("unknown device code (or one issued to "
                                                   "another client)")
        elif row[0] is None:
            return tokens.issue(ctx, tx, client, token_sql.GrantInfo.of(row[3:]),
                                codes.GRANT_TYPE)
        else:
            refused = _refusal(row[0], row[1])
            if row[0] == "used":  # a replayed device code: what it gave is taken back
                tx.execute(sql.REVOKE_GRANT, {"b_grant": row[2]})
                tx.execute(token_sql.REVOKE_GRANT_TOKENS, {"b_grant": row[2]})
    raise refused  # after the block: the poll (and any revocation) commits


def _refusal(outcome: str, interval: int) -> OidcError:
    description = sql.DESCRIPTIONS[outcome]
    if outcome == "slow_down":
        description = f"polling too fast: wait {interval} seconds between requests"
    return _ERRORS[outcome](description)
