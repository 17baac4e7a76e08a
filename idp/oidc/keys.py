"""Signing keys, the published JWKS, and rotation (`idp keys rotate`).

Keys live in ``{var_dir}/keys/signing.json`` (mode 0600): one active key per algorithm (ES256 by
default for ID tokens; RS256 and PS256 for clients that ask), plus retired keys that stay
published until every token they signed has expired. Key objects are parsed once and cached;
the file is re-read only when its mtime changes (a rotation by another process), because loading
a key per token is two orders of magnitude slower than signing with a cached one.

Signing builds the JWS compact serialization (RFC 7515 §7.1) here, with each key's encoded header
cached: joserfc's generic path (header and claims checks, algorithm registry) cost three times the
ECDSA signature itself on the token endpoint. Verification stays with joserfc.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from idp.oidc.errors import InvalidTokenError

ALGORITHMS = ("ES256", "RS256", "PS256")
SigningKey = ECKey | RSAKey


@dataclass(frozen=True)
class _Entry:
    kid: str
    alg: str
    created_at: int
    retired_at: int | None
    key: SigningKey
    signature: Callable[[bytes], bytes]  # JWS signature of a signing input (RFC 7518 §3)


def _signature(alg: str, key: SigningKey) -> Callable[[bytes], bytes]:
    private: Any = key.private_key
    if alg == "ES256":
        def es256(data: bytes) -> bytes:  # RFC 7518 §3.4: R || S, 32 octets each
            r, s = decode_dss_signature(private.sign(data, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return es256
    scheme = padding.PKCS1v15() if alg == "RS256" else \
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)  # §3.5: salt = hash size
    return lambda data: bytes(private.sign(data, scheme, hashes.SHA256()))


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _generate(alg: str, now: int) -> dict[str, Any]:
    key: SigningKey = ECKey.generate_key("P-256") if alg == "ES256" \
        else RSAKey.generate_key(2048)
    kid = f"{alg.lower()}-{now}-{key.thumbprint()[:8]}"
    return {"kid": kid, "alg": alg, "created_at": now, "retired_at": None,
            "jwk": key.as_dict(private=True)}


class KeyStore:
    """The instance's signing keys. Thread-safe; safe across processes sharing ``directory``."""

    def __init__(self, directory: Path, retention_seconds: int) -> None:
        self._path = directory / "signing.json"
        self._retention = retention_seconds
        self._lock = threading.Lock()
        self._mtime = -1.0
        self._entries: list[_Entry] = []
        self._active: dict[str, _Entry] = {}
        self._keyset = KeySet([])
        self._jwks: dict[str, Any] = {"keys": []}
        self._headers: dict[tuple[str, str], bytes] = {}  # (kid, typ) -> encoded JWS header

    # -- file ---------------------------------------------------------------------------------
    def ensure(self) -> None:
        """Create the first keys when the instance has none (first process wins the race)."""
        if self._path.exists():
            return
        now = int(time.time())
        self._write({"keys": [_generate(alg, now) for alg in ALGORITHMS]}, exclusive=True)

    def rotate(self, now: int | None = None) -> list[str]:
        """New active keys; the old ones retire and stay published for ``retention``."""
        now = int(time.time()) if now is None else now
        self.ensure()
        data = json.loads(self._path.read_text())
        kept = [k for k in data["keys"]
                if k["retired_at"] is None or k["retired_at"] + self._retention > now]
        for k in kept:
            k["retired_at"] = k["retired_at"] or now
        fresh = [_generate(alg, now) for alg in ALGORITHMS]
        self._write({"keys": kept + fresh}, exclusive=False)
        return [k["kid"] for k in fresh]

    def _write(self, data: dict[str, Any], *, exclusive: bool) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=".signing-")
        with os.fdopen(fd, "w") as file:
            json.dump(data, file)
        os.chmod(tmp, 0o600)
        try:
            if exclusive:
                # another process may have created the keys first: then use theirs
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, self._path)
            else:
                os.replace(tmp, self._path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _refresh(self) -> None:
        mtime = self._path.stat().st_mtime
        if mtime == self._mtime:
            return
        with self._lock:
            if mtime == self._mtime:
                return
            now = int(time.time())
            entries = []
            for k in json.loads(self._path.read_text())["keys"]:
                if k["retired_at"] is None or k["retired_at"] + self._retention > now:
                    key = _import(k["jwk"], k["kid"])
                    entries.append(_Entry(k["kid"], k["alg"], k["created_at"], k["retired_at"],
                                          key, _signature(k["alg"], key)))
            self._entries = entries
            self._active = {e.alg: e for e in entries if e.retired_at is None}
            self._keyset = KeySet([e.key for e in entries])
            self._jwks = {"keys": [
                {**e.key.as_dict(private=False), "kid": e.kid, "alg": e.alg, "use": "sig"}
                for e in entries]}
            self._mtime = mtime

    # -- use ----------------------------------------------------------------------------------
    def jwks(self) -> dict[str, Any]:
        self._refresh()
        return self._jwks

    def sign(self, claims: dict[str, Any], alg: str = "ES256", typ: str = "JWT") -> str:
        """A compact JWS of ``claims`` with this instance's active ``alg`` key."""
        self._refresh()
        entry = self._active[alg]
        header = self._headers.get((entry.kid, typ))
        if header is None:
            header = self._headers[(entry.kid, typ)] = _b64(json.dumps(
                {"alg": alg, "kid": entry.kid, "typ": typ}, separators=(",", ":")).encode())
        signing_input = header + b"." + _b64(json.dumps(
            claims, separators=(",", ":"), ensure_ascii=False).encode())
        return (signing_input + b"." + _b64(entry.signature(signing_input))).decode("ascii")

    def verify(self, token: str, *, typ: str | None = None) -> dict[str, Any]:
        """The claims of a token this IdP signed (signature only; callers check the rest)."""
        self._refresh()
        try:
            decoded = jwt.decode(token, self._keyset, algorithms=list(ALGORITHMS))
        except Exception as error:  # joserfc raises many types; all mean "not ours"
            raise InvalidTokenError("the token is not a valid token of this IdP") from error
        if typ is not None and decoded.header.get("typ") != typ:
            raise InvalidTokenError(f"the token is not of type {typ}")
        return dict(decoded.claims)


def _import(jwk: dict[str, Any], kid: str) -> SigningKey:
    # The kid in the key's parameters lets a KeySet pick the key named by a token header.
    key: SigningKey = (ECKey if jwk["kty"] == "EC" else RSAKey).import_key({**jwk, "kid": kid})
    return key
