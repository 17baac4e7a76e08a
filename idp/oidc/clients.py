"""Registered relying parties: registration, lookup (cached), and the JWTs they sign.

How a request authenticates its client is ``idp.oidc.client_auth``.

Public keys (``private_key_jwt``, signed request objects) come inline or from the client's
``jwks_uri`` (idp.oidc.client_keys). Client secrets are 256-bit random values, so a SHA-256
digest is as strong as a slow hash and keeps the token endpoint fast; they are compared in
constant time. HS* client assertions and request objects would need the secret itself and are
not supported (RFC 7523 allows either).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from joserfc import jwt
from joserfc.errors import InvalidKeyIdError
from sqlalchemy.orm import Session

from idp.oidc import device_codes
from idp.oidc.client_keys import (
    InlineKeys,
    KeySource,
    RemoteKeys,
    RemoteKeySets,
    check_jwks_uri,
)
from idp.oidc.errors import InvalidClientError, InvalidRequestError, UnknownClientError
from idp.oidc.models import Client

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
CLIENT_JWT_ALGS = ["ES256", "RS256", "PS256"]
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# RFC 7591 §2 grant_types of a client registered without any (the code flow's).
DEFAULT_GRANT_TYPES = ("authorization_code", "refresh_token")
DEVICE_GRANT_TYPES = (device_codes.GRANT_TYPE, "refresh_token")


@dataclass(frozen=True)
class ClientInfo:
    client_id: str
    name: str
    secret_hash: str | None
    auth_method: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    backchannel_logout_uri: str | None
    jwks: Mapping[str, Any] | None
    jwks_uri: str | None
    keys: KeySource | None  # from jwks or jwks_uri; None for clients that sign nothing
    subject_type: str
    sector_identifier: str
    access_token_format: str
    id_token_alg: str
    default_acr: str | None
    grant_types: tuple[str, ...] = DEFAULT_GRANT_TYPES
    # What an administrator allows it to ask for (None: anything offered; idp.admin.clients).
    allowed_scopes: tuple[str, ...] | None = None
    allowed_acrs: tuple[str, ...] | None = None
    allowed_claims: tuple[str, ...] | None = None  # in the claims parameter

    @property
    def public(self) -> bool:
        return self.auth_method == "none"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def sector_of(redirect_uris: list[str], sector_identifier: str | None) -> str:
    """OIDC Core §8.1: the host of the redirect URIs, unless a sector identifier is given."""
    if sector_identifier:
        return urlsplit(sector_identifier).hostname or sector_identifier
    hosts = {urlsplit(uri).hostname for uri in redirect_uris}
    if len(hosts) != 1 or None in hosts:
        raise InvalidRequestError("redirect URIs on several hosts need --sector-identifier")
    return str(hosts.pop())


def register(db: Session, *, name: str, redirect_uris: list[str],
             auth_method: str = "client_secret_basic", **metadata: Any) -> tuple[str, str | None]:
    """Store a new client; returns (client_id, client_secret or None for keyless methods)."""
    if auth_method not in AUTH_METHODS:
        raise InvalidRequestError(f"unknown auth method {auth_method!r}; one of {AUTH_METHODS}")
    for uri in redirect_uris:
        parts = urlsplit(uri)
        if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment:
            raise InvalidRequestError(f"redirect URI {uri!r} must be an absolute http(s) URL "
                                 "without a fragment")
    if metadata.get("jwks") and metadata.get("jwks_uri"):  # OIDC Registration §2
        raise InvalidRequestError("give the client's keys either inline (--jwks) or by "
                                  "--jwks-uri, not both")
    if metadata.get("jwks_uri"):
        check_jwks_uri(metadata["jwks_uri"])
    if metadata.get("jwks"):
        InlineKeys.of(metadata["jwks"]).key_set()  # refuse bad keys now, not at login
    if auth_method == "private_key_jwt" and not (metadata.get("jwks") or
                                                 metadata.get("jwks_uri")):
        raise InvalidRequestError("private_key_jwt needs the client's public keys "
                                  "(--jwks FILE or --jwks-uri URL)")
    client_id = "rp_" + secrets.token_urlsafe(12)
    secret = secrets.token_urlsafe(32) if auth_method.startswith("client_secret") else None
    sector = sector_of(redirect_uris, metadata.pop("sector_identifier", None))
    db.add(Client(client_id=client_id, name=name, auth_method=auth_method,
                  secret_hash=hash_secret(secret) if secret else None,
                  redirect_uris=redirect_uris, sector_identifier=sector,
                  post_logout_redirect_uris=metadata.pop("post_logout_redirect_uris", []),
                  **{k: v for k, v in metadata.items() if v is not None}))
    db.flush()
    return client_id, secret


class ClientCache:
    """Clients by id, kept for ``ttl`` seconds: the token endpoint reads one per request."""

    def __init__(self, ttl: float = 30.0, remote_keys: RemoteKeySets | None = None) -> None:
        self._ttl = ttl
        self.remote_keys = remote_keys or RemoteKeySets()
        self._items: dict[str, tuple[float, ClientInfo]] = {}
        self._lock = threading.Lock()

    def get(self, db: Session, client_id: str | None) -> ClientInfo:
        return self.find(lambda: db, client_id)

    def find(self, database: Callable[[], Session], client_id: str | None) -> ClientInfo:
        """The client; ``database()`` is called only on a cache miss."""
        if not client_id:
            raise UnknownClientError("client_id is missing")
        hit = self._items.get(client_id)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        row = database().get(Client, client_id)
        if row is None:
            raise UnknownClientError(f"no relying party is registered as {client_id!r}")
        if row.disabled_at is not None:
            raise UnknownClientError(f"the relying party {client_id!r} is disabled")
        info = ClientInfo(
            row.client_id, row.name, row.secret_hash, row.auth_method, tuple(row.redirect_uris),
            tuple(row.post_logout_redirect_uris), row.backchannel_logout_uri, row.jwks,
            row.jwks_uri, self._key_source(row), row.subject_type, row.sector_identifier,
            row.access_token_format, row.id_token_alg, row.default_acr,
            grant_types=tuple(row.grant_types or DEFAULT_GRANT_TYPES),
            allowed_scopes=_tuple(row.allowed_scopes), allowed_acrs=_tuple(row.allowed_acrs),
            allowed_claims=_tuple(row.allowed_claims))
        with self._lock:
            self._items[client_id] = (time.monotonic() + self._ttl, info)
        return info

    def forget(self, client_id: str) -> None:
        """Read ``client_id`` from the database at its next use (an administrator changed it;
        other processes see the change within ``ttl``)."""
        with self._lock:
            self._items.pop(client_id, None)

    def _key_source(self, row: Client) -> KeySource | None:
        if row.jwks_uri:
            return RemoteKeys(row.jwks_uri, self.remote_keys)
        return InlineKeys.of(row.jwks) if row.jwks else None


def _tuple(values: list[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)


def verify_client_jwt(client: ClientInfo, token: str) -> dict[str, Any]:
    """Claims of a JWT the client signed with one of its keys.

    A ``kid`` missing from the client's ``jwks_uri`` set fetches the set again, once: the RP
    may have rotated its keys since we cached them (OIDC Core §10.1.1).
    """
    if client.keys is None:
        raise InvalidClientError("the client has no registered keys")
    try:
        return _decode(token, client.keys, refresh=False)
    except InvalidKeyIdError:
        if not isinstance(client.keys, RemoteKeys):
            raise InvalidClientError("the JWT names a key the client did not register") \
                from None
        try:
            return _decode(token, client.keys, refresh=True)
        except InvalidKeyIdError as error:
            raise InvalidClientError("the JWT names a key that is not at the client's "
                                     "jwks_uri") from error


def utf8_text(value: Any) -> bool:
    """Whether a JWT's claim is a string that UTF-8 can carry: JSON may escape a lone
    surrogate, which no URL, database column or log line can hold."""
    if not isinstance(value, str):
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _decode(token: str, source: KeySource, *, refresh: bool) -> dict[str, Any]:
    keys = source.key_set(refresh=refresh)  # ClientKeysError (invalid_client) passes through
    try:
        return dict(jwt.decode(token, keys, algorithms=CLIENT_JWT_ALGS).claims)
    except InvalidKeyIdError:
        raise
    except Exception as error:  # any other joserfc failure: bad signature, bad alg, not a JWT
        raise InvalidClientError("the client's JWT signature does not verify") from error


def register_device(db: Session, *, name: str, **metadata: Any) -> str:
    """Store a new device client (a TV, a set-top box: RFC 8628): public, since a device cannot
    keep a secret, with no redirect URI (it never receives a browser), allowed the device_code
    grant. Its pairwise sector is its own client_id: no other client shares its subjects unless
    ``sector_identifier`` says so. Returns the client_id."""
    client_id = "rp_" + secrets.token_urlsafe(12)
    given = metadata.pop("sector_identifier", None)
    sector = sector_of([], given) if given else client_id
    db.add(Client(client_id=client_id, name=name, auth_method="none", secret_hash=None,
                  redirect_uris=[], post_logout_redirect_uris=[], sector_identifier=sector,
                  grant_types=list(DEVICE_GRANT_TYPES),
                  **{k: v for k, v in metadata.items() if v is not None}))
    db.flush()
    return client_id
