"""An RP's configuration, read from its environment.

=====================  =====================================================================
RP_ISSUER              the IdP's issuer URL (its discovery document is at
                       ``{RP_ISSUER}/.well-known/openid-configuration``); required
RP_CLIENT_ID           the client_id the IdP registered; required
RP_CLIENT_SECRET       client_secret_basic; or
RP_PRIVATE_KEY_FILE    a private JWK (JSON, with ``kid``): private_key_jwt, and PAR (RFC 9126);
                       neither: a public client (token_endpoint_auth_method ``none``)
RP_PAR                 ``1``/``0``: push authorization requests (default: on with a private key)
RP_BASE_URL            where browsers reach this RP (default ``http://localhost:{RP_PORT}``)
RP_PORT                the port it listens on (default: the profile's)
RP_HOST                the address it listens on (default ``127.0.0.1``)
RP_LANG                the default language, ``ja`` (default) or ``en``
RP_SECRET_KEY          signs the browser cookie (default: random at each start)
RP_KIOSK               ``1``: the RP's kiosk mode where it has one (the age gate)
=====================  =====================================================================
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LANGUAGES = ("ja", "en")


class ConfigError(ValueError):
    """The environment does not describe a usable relying party."""


@dataclass(frozen=True)
class RpConfig:
    issuer: str
    client_id: str
    base_url: str
    client_secret: str | None = None
    private_jwk: Mapping[str, Any] | None = field(default=None, repr=False)
    par: bool = False
    host: str = "127.0.0.1"
    port: int = 0
    lang: str = "ja"
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    kiosk: bool = False

    def __post_init__(self) -> None:
        if not self.issuer or not self.client_id:
            raise ConfigError("RP_ISSUER and RP_CLIENT_ID are required")
        if self.client_secret is not None and self.private_jwk is not None:
            raise ConfigError("give one of RP_CLIENT_SECRET and RP_PRIVATE_KEY_FILE, not both")
        if self.private_jwk is not None and not self.private_jwk.get("kid"):
            raise ConfigError("the private JWK needs a kid (the IdP looks the key up by it)")
        if self.lang not in LANGUAGES:
            raise ConfigError(f"RP_LANG must be one of {LANGUAGES}")

    @property
    def auth_method(self) -> str:
        """private_key_jwt, client_secret_basic, or none (a public client, e.g. a device)."""
        if self.private_jwk is not None:
            return "private_key_jwt"
        return "client_secret_basic" if self.client_secret is not None else "none"

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, default_port: int = 0) \
            -> RpConfig:
        env = os.environ if env is None else env
        port = int(env.get("RP_PORT") or default_port)
        base = env.get("RP_BASE_URL") or f"http://localhost:{port}"
        if not port:
            port = urlsplit(base).port or 80
        key_file = env.get("RP_PRIVATE_KEY_FILE")
        private_jwk = json.loads(Path(key_file).read_text(encoding="utf-8")) if key_file \
            else None
        extra = {"secret_key": env["RP_SECRET_KEY"]} if env.get("RP_SECRET_KEY") else {}
        return cls(issuer=env.get("RP_ISSUER", "").rstrip("/"),
                   client_id=env.get("RP_CLIENT_ID", ""), base_url=base.rstrip("/"),
                   client_secret=env.get("RP_CLIENT_SECRET") or None, private_jwk=private_jwk,
                   par=_flag(env.get("RP_PAR"), default=private_jwk is not None),
                   host=env.get("RP_HOST", "127.0.0.1"), port=port,
                   lang=env.get("RP_LANG", "ja"), kiosk=_flag(env.get("RP_KIOSK")), **extra)


def _flag(value: str | None, *, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")
