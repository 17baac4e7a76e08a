"""Pushed authorization requests (RFC 9126) and signed request objects (JAR, RFC 9101).

A request object must be signed with one of the client's registered keys (ES256, RS256 or
PS256; ``none`` and HS* are refused), name the client as ``iss`` and this IdP as ``aud``, and
not be expired. Its parameters replace the query's (RFC 9101 §6.3). A pushed request is
redeemed once, by the client that pushed it, within ``expires_in`` seconds.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from idp.oidc.authorize import PARAMETERS
from idp.oidc.clients import ClientInfo, utf8_text, verify_client_jwt
from idp.oidc.errors import InvalidClientError, InvalidRequestObjectError, InvalidRequestUriError
from idp.oidc.models import PushedRequest

URN_PREFIX = "urn:ietf:params:oauth:request_uri:"
_EXPECTED = {"claims": "an object", "max_age": "an integer",
             "authorization_details": "an array"}  # the others: strings


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
    return _parameters(claims, client)


def _parameters(claims: dict[str, Any], client: ClientInfo) -> dict[str, Any]:
    """The authorization parameters the request object carries, as the query carries them.

    Its members are the parameters as JSON (OIDC Core §6.1): ``claims`` an object (or its
    JSON text), ``authorization_details`` an array (RFC 9396 §3), ``max_age`` an integer,
    every other one a string that UTF-8 can carry. Members that are no parameter of ours,
    and ``request``/``request_uri`` (RFC 9101 §4), are left out.
    """
    params: dict[str, Any] = {}
    for name in PARAMETERS:
        if name not in claims:
            continue
        value = claims[name]
        if name == "max_age" and type(value) is int:
            value = str(value)
        # A claims object's shape is checked with the query's (claims.parse_claims_parameter).
        if not (utf8_text(value) or (name == "claims" and isinstance(value, dict))
                or (name == "authorization_details" and isinstance(value, list))):
            raise InvalidRequestObjectError(
                f"the request object's {name} is not {_EXPECTED.get(name, 'a string')}")
        params[name] = value
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
