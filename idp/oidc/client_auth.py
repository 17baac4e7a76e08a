"""Client authentication (RFC 6749 §2.3, RFC 7523 §3): what a request presents, and checking it.

Read once per request (:func:`presented`), so the failure throttle and :func:`authenticate`
see the same client_id; ``client_secret_basic``/``client_secret_post`` compare a SHA-256 digest
in constant time, ``private_key_jwt`` verifies the assertion with the client's registered keys
(``clients.verify_client_jwt``) and refuses a replayed ``jti``.
"""

from __future__ import annotations

import base64
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from sqlalchemy.orm import Session

from idp.oidc.clients import (
    ASSERTION_TYPE,
    ClientCache,
    ClientInfo,
    hash_secret,
    utf8_text,
    verify_client_jwt,
)
from idp.oidc.errors import InvalidClientError, UnknownClientError

REMEMBERED_UNTIL_MAX = 2**31 - 1  # the largest expires_at of a used jti (an INTEGER column)


def credentials(form: Mapping[str, str], authorization: str | None) -> dict[str, str]:
    """What the client presented: method, client_id and secret or assertion (RFC 6749 §2.3)."""
    if authorization and authorization.lower().startswith("basic "):
        try:
            raw = base64.b64decode(authorization[6:], validate=True).decode()
            client_id, _, secret = raw.partition(":")
        except ValueError as error:
            raise InvalidClientError("malformed Basic authorization header") from error
        return {"method": "client_secret_basic", "client_id": unquote_plus(client_id),
                "secret": unquote_plus(secret)}
    if form.get("client_assertion_type") == ASSERTION_TYPE:
        return {"method": "private_key_jwt", "assertion": form.get("client_assertion", ""),
                "client_id": form.get("client_id", "")}
    if form.get("client_secret"):
        return {"method": "client_secret_post", "client_id": form.get("client_id", ""),
                "secret": form["client_secret"]}
    return {"method": "none", "client_id": form.get("client_id", "")}


def check_secret(client: ClientInfo, secret: str) -> None:
    if client.secret_hash is None or not hmac.compare_digest(
            client.secret_hash, hash_secret(secret)):
        raise InvalidClientError("client authentication failed")


def _unverified_issuer(token: str) -> str:
    """The ``iss`` an assertion names, before its signature is checked (to find its client)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        issuer = claims["iss"]
    except (IndexError, ValueError, KeyError, TypeError, RecursionError) as error:
        # RecursionError: nested deeper than the parser goes, so no JWT of any client
        raise InvalidClientError("the client assertion is not a JWT") from error
    if not utf8_text(issuer):
        raise InvalidClientError("the client assertion's iss is not a client_id")
    return str(issuer)


@dataclass(frozen=True)
class Presented:
    """What a request presented to authenticate its client, read once per request: its
    credentials and the client_id they name (unverified; "" when none can be read), or why they
    cannot be read (raised by :func:`authenticate`, counted by the throttle all the same)."""

    credentials: Mapping[str, str]
    client_id: str
    problem: InvalidClientError | None = None

    def throttled_as(self, address: str) -> str:
        """What failed client authentications are counted against (idp.throttle): the
        client_id and the address. With the client_id alone, anyone who knows it (it is public)
        could lock the relying party out by sending bad secrets; with the address, a guesser
        locks only itself."""
        return f"{self.client_id} from {address}"


def presented(form: Mapping[str, str], authorization: str | None) -> Presented:
    try:
        found = credentials(form, authorization)
        return Presented(found, _named_client_id(found))
    except InvalidClientError as problem:
        return Presented({}, "", problem)


def _named_client_id(presented: Mapping[str, str]) -> str:
    # RFC 7523 §3: a private_key_jwt client need not send client_id; its assertion's iss names it.
    return presented["client_id"] or (
        _unverified_issuer(presented["assertion"]) if "assertion" in presented else "")


def authenticate(database: Callable[[], Session], cache: ClientCache, presented: Presented, *,
                 audiences: set[str], seen_jti: Any) -> ClientInfo:
    """The client that made this request, authenticated by its registered method.

    ``database()`` gives the session to read an uncached client with; ``seen_jti(jti, exp)``
    records an assertion id and raises when it was seen (RFC 7523 §3).
    """
    if presented.problem is not None:
        raise presented.problem
    found = presented.credentials
    try:
        client = cache.find(database, presented.client_id)
    except UnknownClientError as error:
        raise InvalidClientError("unknown client") from error
    if found["method"] != client.auth_method:
        raise InvalidClientError(f"this client authenticates with {client.auth_method}")
    if "secret" in found:
        check_secret(client, found["secret"])
    elif "assertion" in found:
        _check_assertion(client, found["assertion"], audiences, seen_jti)
    return client


def _check_assertion(client: ClientInfo, assertion: str, audiences: set[str],
                     seen_jti: Any) -> None:
    """RFC 7523 §3: iss = sub = client_id, aud names us, exp in the future, jti unique."""
    claims = verify_client_jwt(client, assertion)
    aud = claims.get("aud")
    now = time.time()
    if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
        raise InvalidClientError("the assertion's iss and sub must be the client_id")
    if not any(isinstance(a, str) and a in audiences
               for a in (aud if isinstance(aud, list) else [aud])):
        raise InvalidClientError("the assertion's aud must be the issuer or the endpoint URL")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or not exp >= now:  # NaN is not >= anything
        raise InvalidClientError("the assertion has expired or has no exp")
    jti = claims.get("jti")
    if not utf8_text(jti) or not jti:
        raise InvalidClientError("the assertion needs a jti")
    # Remembered until it expires, or as long as the column holds (a NumericDate may be any
    # number, RFC 7519 §2; the assertion stays refused as a replay all that time).
    seen_jti(f"{client.client_id}:{jti}", int(min(exp, REMEMBERED_UNTIL_MAX)))
