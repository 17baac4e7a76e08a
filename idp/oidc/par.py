"""Pushed authorization requests (RFC 9126) and signed request objects (JAR, RFC 9101).

A request object must be signed with one of the client's registered keys (ES256, RS256 or
PS256; ``none`` and HS* are refused), name the client as ``iss`` and this IdP as ``aud``, and
not be expired. Its parameters replace the query's (RFC 9101 §6.3). A pushed request is
redeemed once, by the client that pushed it, within ``expires_in`` seconds.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from idp.oidc.clients import ClientInfo, verify_client_jwt
from idp.oidc.errors import InvalidClientError, InvalidRequestObjectError, InvalidRequestUriError
from idp.oidc.models import PushedRequest

URN_PREFIX = "urn:ietf:params:oauth:request_uri:"


def request_object_params(client: ClientInfo, request: str, issuer: str) -> dict[str, Any]:
    try:
        claims = verify_client_jwt(client, request)
    except InvalidClientError as error:  # bad signature, unknown kid, jwks_uri unreachable
        raise InvalidRequestObjectError(
            f"the request object cannot be verified: {error.description}") from error
    aud = claims.get("aud")
    if claims.get("iss") != client.client_id:
        raise InvalidRequestObjectError("the request object's iss must be the client_id")
    if issuer not in (aud if isinstance(aud, list) else [aud]):
        raise InvalidRequestObjectError("the request object's aud must be the issuer")
    exp = claims.get("exp")
    if exp is not None and (not isinstance(exp, int | float) or exp < time.time()):
        raise InvalidRequestObjectError("the request object has expired")
    if claims.get("client_id", client.client_id) != client.client_id:
        raise InvalidRequestObjectError("the request object is for another client")
    params = {k: v for k, v in claims.items() if k not in ("iss", "aud", "exp", "iat", "nbf",
                                                            "jti")}
    if isinstance(params.get("claims"), dict):
        params["claims"] = json.dumps(params["claims"])
    if isinstance(params.get("max_age"), int):
        params["max_age"] = str(params["max_age"])
    params["client_id"] = client.client_id
    return params


def store(sessions: sessionmaker[Session], client: ClientInfo, params: dict[str, Any],
          lifetime_seconds: int) -> str:
    """Push ``params`` in a transaction of its own; answers the ``request_uri``."""
    with sessions() as db, db.begin():
        return push(db, client, params, lifetime_seconds)


def push(db: Session, client: ClientInfo, params: dict[str, Any], lifetime: int) -> str:
    uri = URN_PREFIX + secrets.token_urlsafe(24)
    db.add(PushedRequest(request_uri_hash=_hash(uri), client_id=client.client_id,
                         params=params, expires_at=int(time.time()) + lifetime))
    db.flush()
    return uri


def redeem(db: Session, client_id: str | None, request_uri: str) -> dict[str, Any]:
    """The pushed parameters, once; unknown, expired, reused or foreign → invalid_request_uri."""
    row = db.get(PushedRequest, _hash(request_uri))
    if row is None or row.expires_at < time.time() or row.client_id != client_id:
        raise InvalidRequestUriError()
    used = db.execute(update(PushedRequest).where(PushedRequest.request_uri_hash == row
                                                  .request_uri_hash,
                                                  PushedRequest.used.is_(False))
                      .values(used=True)).rowcount  # type: ignore[attr-defined]
    if not used:
        raise InvalidRequestUriError("this request_uri was already used")
    return dict(row.params)


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
