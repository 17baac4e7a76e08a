"""A client's public keys: registered inline (``jwks``) or published at its ``jwks_uri``.

They verify ``private_key_jwt`` client assertions (RFC 7523) and signed request objects
(RFC 9101). A ``jwks_uri`` (OIDC Registration §2) is fetched when first needed, with a short
timeout and a size limit, kept for ``ttl`` seconds, and fetched again at once when a JWT names a
``kid`` the cached set lacks: that is how an RP rotates keys (OIDC Core §10.1.1). The refetch is
allowed once per ``min_refetch_seconds`` per URI so a stream of made-up ``kid`` values cannot
turn us into a load generator against the RP.

Only ``https`` URIs are accepted, except ``http`` on the loopback interface: an RP on the IdP's
own loopback exists only in development and tests.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from joserfc.jwk import KeySet

from idp.oidc.errors import InvalidClientError, InvalidRequestError

FETCH_TIMEOUT_SECONDS = 3.0  # one slow RP must not hold a worker thread for long
MAX_JWKS_BYTES = 64 * 1024  # a JWK Set of a few keys is a few KiB
CACHE_SECONDS = 300.0
MIN_REFETCH_SECONDS = 10.0


class ClientKeysError(InvalidClientError):
    """The client's keys could not be had or are not a public JWK Set."""


def check_jwks_uri(uri: str) -> str:
    """``uri`` if it may be registered: https, or http on the loopback interface."""
    if not _allowed(uri):
        raise InvalidRequestError(
            f"jwks_uri {uri!r} must be an https URL (http only on localhost)")
    return uri


def _allowed(uri: str) -> bool:
    parts = urlsplit(uri)
    if not parts.hostname or parts.fragment:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and _loopback(parts.hostname))


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def public_key_set(data: Any, where: str) -> KeySet:
    """``data`` as a KeySet, refused when it is not a JWK Set or holds a private key."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ClientKeysError(f"{where} is not a JWK Set ({{\"keys\": [...]}})")
    if any(isinstance(key, dict) and "d" in key for key in data["keys"]):
        raise ClientKeysError(f"{where} holds a private key")
    try:
        return KeySet.import_key_set(data)  # type: ignore[arg-type]
    except Exception as error:  # joserfc raises several types for malformed keys
        raise ClientKeysError(f"{where} holds a key that cannot be used: {error}") from error


class KeySource(Protocol):
    """Where a client's keys come from; ``refresh`` asks for a fresh copy if there is one."""

    def key_set(self, *, refresh: bool = False) -> KeySet: ...


@dataclass(frozen=True)
class InlineKeys:
    """Keys registered with the client (``--jwks FILE``), imported once, when first needed
    (a bad set then refuses only the JWTs it should verify, not the client's other requests)."""

    jwks: Mapping[str, Any]

    @classmethod
    def of(cls, jwks: Mapping[str, Any]) -> InlineKeys:
        return cls(jwks)

    @cached_property
    def keys(self) -> KeySet:
        return public_key_set(dict(self.jwks), "the client's registered jwks")

    def key_set(self, *, refresh: bool = False) -> KeySet:
        return self.keys


Fetch = Callable[[str], bytes]


def http_fetch(uri: str) -> bytes:
    """GET ``uri``: 200 only, at most MAX_JWKS_BYTES, within FETCH_TIMEOUT_SECONDS in total."""
    deadline = time.monotonic() + FETCH_TIMEOUT_SECONDS
    try:
        with requests.get(uri, timeout=FETCH_TIMEOUT_SECONDS, stream=True,
                          allow_redirects=False, headers={"Accept": "application/json"}) as answer:
            if answer.status_code != 200:
                raise ClientKeysError(f"the client's jwks_uri answered {answer.status_code}")
            body = bytearray()
            for chunk in answer.iter_content(8192):
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise ClientKeysError(
                        f"the client's jwks_uri sent more than {MAX_JWKS_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise ClientKeysError("the client's jwks_uri did not answer in time")
            return bytes(body)
    except requests.RequestException as error:
        raise ClientKeysError(
            f"the client's jwks_uri could not be fetched ({type(error).__name__})") from error


class RemoteKeySets:
    """JWK Sets fetched from ``jwks_uri``s, shared by every client of one app."""

    def __init__(self, fetch: Fetch = http_fetch, *, ttl: float = CACHE_SECONDS,
                 min_refetch_seconds: float = MIN_REFETCH_SECONDS) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self.min_refetch_seconds = min_refetch_seconds
        self._items: dict[str, tuple[float, KeySet]] = {}  # uri -> (fetched at, keys)
        self._lock = threading.Lock()

    def get(self, uri: str, *, refresh: bool = False) -> KeySet:
        hit = self._items.get(uri)
        age = time.monotonic() - hit[0] if hit else None
        if hit and age is not None and (age < self.min_refetch_seconds or
                                        (age < self._ttl and not refresh)):
            return hit[1]
        if not _allowed(uri):  # registration checks it too; a row edited by hand must not
            raise ClientKeysError("the client's jwks_uri is not an https URL")
        try:
            data = json.loads(self._fetch(uri))
        except ValueError as error:
            raise ClientKeysError("the client's jwks_uri did not return JSON") from error
        keys = public_key_set(data, "the client's jwks_uri")
        with self._lock:
            self._items[uri] = (time.monotonic(), keys)
        return keys


@dataclass(frozen=True)
class RemoteKeys:
    """Keys published at the client's ``jwks_uri``."""

    uri: str
    sets: RemoteKeySets

    def key_set(self, *, refresh: bool = False) -> KeySet:
        return self.sets.get(self.uri, refresh=refresh)
