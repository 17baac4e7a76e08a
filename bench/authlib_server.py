"""A minimal Authlib authorization server (Flask), as Authlib's documentation builds one.

Used only by ``python -m bench authlib``: ``AuthorizationCodeGrant`` with
``CodeChallenge(required=True)`` and ``OpenIDCode`` (ES256 ID tokens, one cached key object),
``client_secret_basic``, opaque access and refresh tokens. Codes and tokens live in a store:
SQLite (one commit per exchange, token values kept as SHA-256 digests as ours are) or dicts.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask
from joserfc.jwk import ECKey

ISSUER = "http://authlib.bench.invalid"
SCOPE = "openid"


@dataclass(frozen=True)
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    secret_hash: str
    redirect_uri: str
    id_token_signed_response_alg: str = "ES256"  # noqa: S105  (an algorithm name)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope.split() if s == SCOPE)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri == self.redirect_uri

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(self.secret_hash, _digest(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class Code:
    """What Authlib's AuthorizationCodeMixin and CodeChallenge read from a stored code."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str
    code_challenge_method: str
    auth_time: int
    acr: str = "urn:jpki-idp:ial2-aal2"
    amr: list[str] = field(default_factory=lambda: ["hwk", "pin", "mfa"])
    user_id: str = "person-1"

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str:
        return self.acr

    def get_amr(self) -> list[str]:
        return self.amr


class Store(Protocol):
    def add_code(self, code: Code) -> None: ...
    def take_code(self, code: str, client_id: str) -> Code | None: ...
    def delete_code(self, code: str) -> None: ...
    def save_token(self, token: dict[str, Any], client_id: str) -> None: ...


class MemoryStore:
    def __init__(self) -> None:
        self.codes: dict[str, Code] = {}
        self.tokens: dict[str, str] = {}

    def add_code(self, code: Code) -> None:
        self.codes[code.code] = code

    def take_code(self, code: str, client_id: str) -> Code | None:
        found = self.codes.get(code)
        return found if found and found.client_id == client_id else None

    def delete_code(self, code: str) -> None:
        self.codes.pop(code, None)

    def save_token(self, token: dict[str, Any], client_id: str) -> None:
        self.tokens[_digest(token["access_token"])] = client_id
        self.tokens[_digest(token["refresh_token"])] = client_id


class SqliteStore:
    """Codes and token digests in one SQLite file; the exchange commits once, as ours does."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.executescript(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
            "CREATE TABLE codes (code_hash TEXT PRIMARY KEY, client_id TEXT, redirect_uri TEXT,"
            " scope TEXT, nonce TEXT, challenge TEXT, method TEXT, auth_time INTEGER);"
            "CREATE TABLE tokens (key TEXT PRIMARY KEY, kind TEXT, client_id TEXT,"
            " expires_at INTEGER);")

    def add_code(self, code: Code) -> None:
        with self._lock, self._db:
            self._db.execute("INSERT INTO codes VALUES (?,?,?,?,?,?,?,?)", (
                _digest(code.code), code.client_id, code.redirect_uri, code.scope, code.nonce,
                code.code_challenge, code.code_challenge_method, code.auth_time))

    def take_code(self, code: str, client_id: str) -> Code | None:
        row = self._db.execute("SELECT client_id, redirect_uri, scope, nonce, challenge, method,"
                               " auth_time FROM codes WHERE code_hash = ? AND client_id = ?",
                               (_digest(code), client_id)).fetchone()
        return Code(code, *row) if row else None

    def delete_code(self, code: str) -> None:
        # Authlib deletes the code before saving the token; both commit together below.
        self._db.execute("DELETE FROM codes WHERE code_hash = ?", (_digest(code),))

    def save_token(self, token: dict[str, Any], client_id: str) -> None:
        expires = int(time.time()) + int(token.get("expires_in", 3600))
        with self._lock, self._db:
            self._db.executemany("INSERT INTO tokens VALUES (?,?,?,?)", [
                (_digest(token["access_token"]), "access", client_id, expires),
                (_digest(token["refresh_token"]), "refresh", client_id, expires)])


def make_store(kind: str, path: Path) -> Store:
    return SqliteStore(path) if kind == "sqlite" else MemoryStore()


class AuthlibServer:
    """The Flask app with Authlib's server wired to ``store``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.clients: dict[str, Client] = {}
        self.app = Flask("authlib-bench")
        self.app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True
        self.server = AuthorizationServer(self.app, query_client=self.clients.get,
                                          save_token=self._save_token)
        self.signing_key = ECKey.generate_key()
        self.server.register_grant(_code_grant(store), [CodeChallenge(required=True),
                                                        _openid_code(self.signing_key)])
        self.app.add_url_rule("/token", "token", self.server.create_token_response,
                              methods=["POST"])

    def _save_token(self, token: dict[str, Any], request: Any) -> None:
        self.store.save_token(token, request.client.client_id)

    def add_client(self, redirect_uri: str) -> tuple[str, str]:
        client_id, secret = "rp_" + secrets.token_urlsafe(12), secrets.token_urlsafe(32)
        self.clients[client_id] = Client(client_id, _digest(secret), redirect_uri)
        return client_id, secret

    def mint_code(self, client_id: str, redirect_uri: str, challenge: str, *,
                  nonce: str) -> str:
        """A code as Authlib's authorization endpoint would have saved it (not timed)."""
        code = secrets.token_urlsafe(32)
        self.store.add_code(Code(code, client_id, redirect_uri, SCOPE, nonce, challenge, "S256",
                                 int(time.time())))
        return code


def _code_grant(store: Store) -> type[grants.AuthorizationCodeGrant]:
    class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]  # noqa: RUF012

        def save_authorization_code(self, code: str, request: Any) -> None:
            raise NotImplementedError("codes are minted by AuthlibServer.mint_code")

        def query_authorization_code(self, code: str, client: Client) -> Code | None:
            return store.take_code(code, client.client_id)

        def delete_authorization_code(self, authorization_code: Code) -> None:
            store.delete_code(authorization_code.code)

        def authenticate_user(self, authorization_code: Code) -> str:
            return authorization_code.user_id

    return CodeGrant


def _openid_code(key: ECKey) -> OpenIDCode:
    kid = key.thumbprint()

    class Oidc(OpenIDCode):  # type: ignore[misc]
        def resolve_client_private_key(self, client: Client) -> ECKey:
            return key  # one key object, never re-parsed per token

        def get_client_claims(self, client: Client) -> dict[str, Any]:
            return {"iss": ISSUER, "aud": [client.client_id], "exp": int(time.time()) + 3600}

        def get_encode_header(self, client: Client) -> dict[str, str]:
            return {"alg": "ES256", "kid": kid}

        def exists_nonce(self, nonce: str, request: Any) -> bool:
            return False

        def generate_user_info(self, user: str, scope: str) -> UserInfo:
            return UserInfo(sub=user)

    return Oidc(require_nonce=False)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
