"""One audit entry, its canonical encoding and its hash.

The canonical encoding is JSON with keys sorted, no insignificant white space and UTF-8
(``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``). For the values an
entry may hold (strings, integers, booleans, null, lists and objects of them; floats are
refused) this is the RFC 8785 (JCS) serialisation: JCS differs only in how it writes floats and
in sorting keys by UTF-16 code units, which matches code point order for the ASCII keys used here.
So any JCS library re-computes the same hashes from an export.

``hash = SHA-256(canonical({seq, time, actor, action, target, outcome, request_id, details,
prev_hash}))`` as lower-case hex; the first entry's ``prev_hash`` is 64 zeros.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64

# Keys that would name a secret: never stored, whatever the value (a token, a PIN, a password,
# a client secret, an authorization code or its verifier, a private key).
_SECRET_WORDS = ("secret", "password", "pin", "token", "code", "verifier", "private_key",
                 "assertion", "signature")
_ALLOWED_TOKENISH = frozenset({"token_type", "jti", "acr", "grant_type", "error_code"})


def system() -> str:
    return "system"


def anonymous() -> str:
    """Someone not (yet) known: a refused sign-in, a card answer for no account."""
    return "anonymous"


def person(private_id: str) -> str:
    return f"person:{private_id}"


def client(client_id: str) -> str:
    return f"rp:{client_id}"


def admin(name: str) -> str:
    return f"admin:{name}"


@dataclass(frozen=True)
class Entry:
    seq: int
    time: str  # RFC 3339, UTC, microseconds: "2026-12-02T19:45:00.123456Z"
    actor: str  # "person:<private ID>", "admin:<name>", "rp:<client_id>", "system", "anonymous"
    action: str  # e.g. "login.passkey", "token.issued" (docs/operations.md, "Audit log")
    target: str | None
    outcome: str  # "ok", "refused", "failed", or a specific result ("good", "revoked")
    request_id: str | None
    details: Mapping[str, Any]
    prev_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        """What the hash covers: every field but the hash itself."""
        fields = asdict(self)
        del fields["hash"]
        fields["details"] = dict(self.details)
        return fields

    def to_json(self) -> dict[str, Any]:
        return {**self.body(), "hash": self.hash}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Entry:
        return cls(seq=int(value["seq"]), time=str(value["time"]), actor=str(value["actor"]),
                   action=str(value["action"]), target=value.get("target"),
                   outcome=str(value["outcome"]), request_id=value.get("request_id"),
                   details=dict(value.get("details") or {}), prev_hash=str(value["prev_hash"]),
                   hash=str(value["hash"]))

    def computed_hash(self) -> str:
        return digest(self.body())


def canonical(value: Any) -> bytes:
    """The canonical JSON of ``value`` (module docstring)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(body)).hexdigest()


def timestamp(at: datetime | None = None) -> str:
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def clean_details(details: Mapping[str, Any] | None) -> dict[str, Any]:
    """``details`` checked: JSON values without floats, and no key that names a secret; every
    string made storable text (``text``)."""
    checked = dict(details or {})
    _check(checked, "details")
    return {text(key): _texts(item) for key, item in checked.items()}


def text(value: str) -> str:
    """``value`` as a string UTF-8 can hold: what a request presented is recorded even when it
    carried a lone surrogate (a JSON ``\\ud800`` escape decodes to one), each such code point
    replaced by U+FFFD; neither the canonical encoding nor the database takes them."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
    return value


def _texts(value: Any) -> Any:
    if isinstance(value, str):
        return text(value)
    if isinstance(value, Mapping):
        return {text(key): _texts(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_texts(item) for item in value]
    return value


def _check(value: Any, where: str) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"audit {where}: keys must be strings")
            if _names_secret(key):
                raise ValueError(f"audit {where}.{key}: secrets are never written to the log")
            _check(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for item in value:
            _check(item, where)
    elif isinstance(value, float) or not isinstance(value, str | int | bool | type(None)):
        raise TypeError(f"audit {where}: only strings, integers, booleans and null "
                        f"(got {type(value).__name__})")


def _names_secret(key: str) -> bool:
    lowered = key.lower()
    return lowered not in _ALLOWED_TOKENISH and any(w in lowered for w in _SECRET_WORDS)
