"""One typed, frozen settings object for the whole IdP.

Sources, lowest to highest precedence: the defaults written here, ``config/idp.toml`` (or the file
named by ``--config`` / ``IDP_CONFIG``), environment variables ``IDP_*`` (nested with ``__``, e.g.
``IDP_JLIS__URL``), then keyword arguments. Every field is documented where it is defined;
``docs/configuration.md`` is generated from these docstrings (``idp config docs``).
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from idp.settings_events import EventsSettings
from idp.settings_ops import LoggingSettings, MeteringSettings, MetricsSettings

DEFAULT_CONFIG_FILE = Path("config/idp.toml")

Purpose = Literal["sign", "auth"]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class JlisSettings(_Section):
    """How the IdP reaches J-LIS (or the simulator) as a registered verifier."""

    url: str = Field("http://127.0.0.1:8001", description="Base URL of the J-LIS verifier API.")
    api_key: str | None = Field(
        None, description="Bearer key issued to this verifier by J-LIS (never logged)."
    )
    api_key_file: Path | None = Field(
        None, description="File holding the API key; read when `api_key` is unset."
    )
    timeout_seconds: float = Field(5.0, description="Timeout of one J-LIS HTTP call.")
    breaker_failure_threshold: int = Field(
        3, ge=1, description="Failures in a row (timeouts, refused connections, 5xx; not 4xx "
        "answers such as not found) after which a J-LIS service's calls fail at once without "
        "asking J-LIS. One breaker per service (OCSP, CRL, serial links, 4 info, age, metering) "
        "and per worker process; their states are in `GET /healthz`."
    )
    breaker_reset_seconds: float = Field(
        30.0, gt=0, description="How long an open J-LIS breaker fails calls at once; then the "
        "next call goes through as the only trial: an answer closes the breaker, a failure opens "
        "it again."
    )


class SimSettings(_Section):
    """The J-LIS simulator (`idp sim ...`); never used by a production IdP."""

    url: str = Field(
        "http://127.0.0.1:8001",
        description="Public URL of the simulator; written into the CRL/OCSP/AIA URLs it issues.",
    )
    crl_period_seconds: int = Field(
        24 * 3600, description="CRL nextUpdate - thisUpdate (J-LIS: 24 h; shorter in tests)."
    )


class RevocationPolicy(_Section):
    """How the revocation status of one certificate purpose is obtained and when it is trusted."""

    method: Literal["ocsp", "crl", "ocsp_then_crl"] = Field(
        "ocsp_then_crl", description="Which J-LIS service answers: OCSP, the CRL index, or OCSP "
        "falling back to the CRL index when OCSP is unreachable."
    )
    max_crl_staleness_seconds: int = Field(
        0, description="How long past the CRL's nextUpdate it may still be used (0: not at all)."
    )
    max_ocsp_age_seconds: int = Field(
        300, description="How old an OCSP response's thisUpdate may be."
    )
    fail_closed: bool = Field(
        True, description="Refuse when the status is unknown beyond policy (never turn off in "
        "production)."
    )


class TrustSettings(_Section):
    """What the IdP trusts. The trust policy is data in the database (`idp trust show`); these
    settings seed its first version only (docs/trust-core.md, "The trust policy")."""

    anchors_dir: Path | None = Field(
        None, description="Directory of trust anchors (`sign/*.pem` and `auth/*.pem`) the first "
        "trust policy version trusts; later changes go through `idp trust anchors add|retire|"
        "enable`. Default: `{var_dir}/trust`."
    )
    sign: RevocationPolicy = Field(default_factory=RevocationPolicy, description="Seeds the "
                                   "first trust policy version's `revocation.sign`.")
    auth: RevocationPolicy = Field(default_factory=RevocationPolicy, description="Seeds the "
                                   "first trust policy version's `revocation.auth`.")
    policy_check_seconds: float = Field(
        1.0, ge=0, description="How often each worker asks the database for the current trust "
        "policy version (one indexed read; 0: at every use). A change made anywhere holds "
        "everywhere within this time."
    )
    crl_cache_dir: Path | None = Field(
        None, description="Where CRL indexes are kept (shared by worker processes). Default: "
        "`{var_dir}/crl`."
    )


class OidcSettings(_Section):
    """The OpenID Connect provider."""

    issuer: str = Field("http://127.0.0.1:8000", description="The issuer identifier (`iss`).")
    code_lifetime_seconds: int = Field(60, description="Authorization code lifetime (≤ 60 s).")
    access_token_lifetime_seconds: int = Field(600, description="Access token lifetime.")
    id_token_lifetime_seconds: int = Field(600, description="ID token lifetime.")
    refresh_token_lifetime_seconds: int = Field(
        30 * 24 * 3600, description="Refresh token lifetime."
    )
    session_lifetime_seconds: int = Field(8 * 3600, description="Login session lifetime.")
    pairwise_salt: str | None = Field(
        None, description="Secret salt for pairwise subjects; generated under var/ when unset."
    )
    require_nonce: bool = Field(
        True, description="Refuse authorization requests without `nonce` (OIDC Core makes it "
        "optional in the code flow; we require it so every ID token is bound to the RP's "
        "session, see docs/api.md). Set false to behave like the conformance suite's basic plan."
    )
    access_token_format: Literal["jwt", "opaque"] = Field(
        "jwt", description="Default access token format for new clients (RFC 9068 JWT or opaque)."
    )
    id_token_alg: Literal["ES256", "RS256", "PS256"] = Field(
        "ES256", description="Default ID token signing algorithm for new clients."
    )
    par_lifetime_seconds: int = Field(60, description="Lifetime of a pushed request_uri.")
    interaction_lifetime_seconds: int = Field(
        900, description="How long a person has to finish a login/consent interaction."
    )
    device_code_lifetime_seconds: int = Field(
        600, ge=60, le=1800, description="How long a device authorization (RFC 8628: its "
        "device code and user code) may be approved and polled for."
    )
    device_poll_interval_seconds: int = Field(
        5, ge=1, le=60, description="The polling `interval` a device is given; each `slow_down` "
        "adds 5 seconds for that device."
    )
    backchannel_timeout_seconds: float = Field(
        3.0, description="Timeout of one back-channel logout delivery."
    )
    backchannel_max_attempts: int = Field(
        8, ge=1, description="Back-channel logout deliveries tried per RP before giving up."
    )
    backchannel_retry_seconds: float = Field(
        10.0, gt=0, description="Wait before the first retry; doubled after each failure."
    )

    @field_validator("code_lifetime_seconds")
    @classmethod
    def _short_lived_code(cls, value: int) -> int:
        # RFC 6749 §4.1.2 recommends 10 minutes at most; issue 4 and our threat model (a code
        # leaked from a browser or log) hold codes to 60 s, as FAPI 2.0 and RFC 9700 §2.1.1
        # expect short-lived codes.
        if not 1 <= value <= 60:
            raise ValueError(f"oidc.code_lifetime_seconds must be between 1 and 60 seconds "
                             f"(authorization codes are short-lived), not {value}")
        return value


class WebauthnSettings(_Section):
    """Passkeys (WebAuthn). Browsers allow WebAuthn over plain http only on `localhost`: the
    demo's passkeys therefore work at http://localhost:8000, not at http://127.0.0.1:8000."""

    rp_id: str = Field(
        "localhost", description="Relying party ID: the IdP's registrable domain (or `localhost`)."
        " Passkeys are bound to it; changing it orphans every registered passkey."
    )
    rp_name: str = Field("JPKI IdP", description="Name the browser shows when making a passkey.")
    origins: tuple[str, ...] = Field(
        ("http://localhost:8000",), description="Origins (scheme://host[:port]) allowed to run "
        "the ceremonies; https only, except http://localhost."
    )
    challenge_timeout_seconds: int = Field(
        300, description="How long a passkey challenge may be answered (single use)."
    )

    @model_validator(mode="after")
    def _origins_belong_to_rp_id(self) -> WebauthnSettings:
        # WebAuthn L3 §5.1.3/§5.1.4: the RP ID must equal, or be a registrable suffix of, the
        # origin's host; browsers allow WebAuthn only in secure contexts (https, or localhost).
        for origin in self.origins:
            parts = urlsplit(origin)
            scheme, host = parts.scheme, parts.hostname or ""
            if host != self.rp_id and not host.endswith("." + self.rp_id):
                raise ValueError(f"webauthn origin {origin} is not on rp_id {self.rp_id}")
            if scheme != "https" and not (scheme == "http" and host == "localhost"):
                raise ValueError(f"webauthn origin {origin} must be https (or http://localhost)")
        return self


class ThrottleRule(_Section):
    """How many failures one subject may have in a fixed window before it is refused (429)."""

    limit: int = Field(20, ge=1, description="Failures allowed per window; further attempts "
                       "are refused, even with the right credential, until the window ends.")
    window_seconds: int = Field(300, ge=1, description="Length of the fixed window.")


class UserCodeRule(ThrottleRule):
    """Unknown or expired user codes typed on /device (RFC 8628 §5.1: with 8 characters of 20,
    a handful of guesses per code lifetime keeps a guess's odds below 2^-32)."""

    limit: int = Field(10, ge=1, description="Wrong codes allowed per window, per client "
                       "address and per browser; further codes are refused until it ends.")


class DeviceRequestRule(ThrottleRule):
    """Device authorization requests (every one counts, not only failures)."""

    limit: int = Field(30, ge=1, description="Device authorization requests allowed per window "
                       "and client address; further ones are refused (429) until it ends.")


class AdminSignInRule(ThrottleRule):
    """Refused administrator passkey answers and unknown, used or expired enrolment URLs: an
    administrator has one or two passkeys, so a few failures are already suspicious."""

    limit: int = Field(10, ge=1, description="Refused admin sign-ins, passkey confirmations "
                       "and enrolment URLs allowed per window and client address; further "
                       "attempts are refused (429) until it ends.")


class ThrottleSettings(_Section):
    """Throttling of failed credential attempts (docs/operations.md, "Throttling failed
    attempts"). The card limits PIN tries itself; these limit what reaches the IdP."""

    client_auth: ThrottleRule = Field(default_factory=ThrottleRule, description="Failed client "
                                      "authentications per presented client_id and client "
                                      "address (/token, /par, "
                                      "/revoke, /introspect).")
    passkey: ThrottleRule = Field(default_factory=ThrottleRule, description="Refused passkey "
                                  "sign-ins per client address.")
    card_answer: ThrottleRule = Field(default_factory=ThrottleRule, description="Refused card "
                                      "answers (bad signature, wrong digest, wrong certificate "
                                      "type) per client address.")
    device_user_code: UserCodeRule = Field(
        default_factory=UserCodeRule, description="Unknown or expired user codes typed on "
        "/device, per client address and per browser (RFC 8628 §5.1).")
    device_authorization: DeviceRequestRule = Field(
        default_factory=DeviceRequestRule, description="Device authorization requests "
        "(/device_authorization) per client address, each one counted.")
    admin_sign_in: AdminSignInRule = Field(
        default_factory=AdminSignInRule, description="Refused administrator passkey answers "
        "(sign-in, confirmation) and enrolment URL guesses on /admin, per client address.")


class ServerSettings(_Section):
    """Where `idp serve` listens."""

    host: str = Field("127.0.0.1", description="Listen address.")
    port: int = Field(8000, description="Listen port.")
    workers: int = Field(2, description="Worker processes (gunicorn).")
    threads: int = Field(4, description="Threads per worker; 1 runs gunicorn's sync worker.")
    kind: Literal["gunicorn", "uwsgi"] = Field(
        "gunicorn", description="Production server: gunicorn (gthread) or uWSGI (its C HTTP "
        "router; faster, see docs/benchmarks.md).")
    trusted_proxies: int = Field(
        0, ge=0, le=5, description="Reverse proxies in front of the IdP whose "
        "`X-Forwarded-For` and `X-Forwarded-Proto` are believed (0: none; the headers are "
        "ignored, as anyone can send them). With a TLS-terminating proxy set 1: the client "
        "address (throttles, logs) and https (Secure cookies) then come from the proxy's headers.")


class AdminSettings(_Section):
    """The administration (/admin, /admin/api, `idp admin`); docs/admin.md."""

    session_lifetime_seconds: int = Field(
        900, ge=60, le=8 * 3600, description="How long an administrator's browser session "
        "lasts after signing in with their passkey (short: the console can change everything).")
    confirm_window_seconds: int = Field(
        300, ge=30, le=3600, description="How long a passkey confirmation covers high-risk "
        "actions (policy changes, disabling a CA generation or a client, rotating a secret, "
        "revealing 4 info) before the passkey is asked for again.")
    enrolment_lifetime_seconds: int = Field(
        900, ge=60, le=24 * 3600, description="How long an enrolment URL from `idp admin add` "
        "stays valid (it works once).")
    token_default_ttl_seconds: int = Field(
        900, ge=60, description="Lifetime of an API token from `idp admin token` without --ttl.")
    token_max_ttl_seconds: int = Field(
        3600, ge=60, description="The longest lifetime `idp admin token --ttl` may ask for.")
    production: bool | None = Field(
        None, description="Production mode: relying parties' redirect, logout and JWKS URIs "
        "must be https. Default: on when the issuer is an https URL.")


class Settings(BaseSettings):
    """The IdP's settings. Frozen: build a new one instead of mutating."""

    model_config = SettingsConfigDict(
        env_prefix="IDP_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    var_dir: Path = Field(Path("var"), description="The instance directory (database, keys, ...).")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL. Default: SQLite at `{var_dir}/idp.sqlite3`."
    )
    secret_key: str | None = Field(
        None, description="Flask session secret; generated under var/ when unset (never logged)."
    )
    default_language: Literal["ja", "en"] = Field("ja", description="UI language by default.")
    time_zone: str = Field(
        "Asia/Tokyo", description="Time zone (IANA name) of the dates and times on the person's "
        "pages; JSON answers keep UTC.")
    demo_file: Path | None = Field(
        None, description="The description of a running demo that `idp demo` writes (relying "
        "parties, residents, card PINs), shown on the front page `/`. Default: "
        "`{var_dir}/demo.json`; without the file `/` only explains the product.")
    log_level: str = Field("INFO", description="Python log level.")
    server: ServerSettings = Field(default_factory=ServerSettings)
    jlis: JlisSettings = Field(default_factory=JlisSettings)
    sim: SimSettings = Field(default_factory=SimSettings)
    trust: TrustSettings = Field(default_factory=TrustSettings)
    oidc: OidcSettings = Field(default_factory=OidcSettings)
    webauthn: WebauthnSettings = Field(default_factory=WebauthnSettings)
    throttle: ThrottleSettings = Field(default_factory=ThrottleSettings)
    events: EventsSettings = Field(default_factory=EventsSettings)
    metering: MeteringSettings = Field(default_factory=MeteringSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    admin: AdminSettings = Field(default_factory=AdminSettings)

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"time_zone {value!r} is not an IANA time zone name "
                             "(e.g. Asia/Tokyo, UTC)") from None
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = _CONFIG_FILE.get() or Path(os.environ.get("IDP_CONFIG",
                                                                 DEFAULT_CONFIG_FILE))
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file)
        return (init_settings, env_settings, toml)

    # Derived locations: one place decides where things live under var_dir.
    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.var_dir / 'idp.sqlite3').resolve()}"

    @property
    def anchors_dir(self) -> Path:
        return self.trust.anchors_dir or self.var_dir / "trust"

    @property
    def crl_cache_dir(self) -> Path:
        return self.trust.crl_cache_dir or self.var_dir / "crl"

    @property
    def demo_file_path(self) -> Path:
        return self.demo_file or self.var_dir / "demo.json"

    @property
    def sim_dir(self) -> Path:
        return self.var_dir / "sim"

    @property
    def keys_dir(self) -> Path:
        return self.var_dir / "keys"

    @property
    def metrics_dir(self) -> Path:
        return self.metrics.multiproc_dir or self.var_dir / "metrics"


# The settings file of one load_settings call (a context variable, so no thread or other call
# sees it, and the process environment is left alone).
_CONFIG_FILE: ContextVar[Path | None] = ContextVar("idp_config_file", default=None)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings; ``config_file`` replaces ``config/idp.toml`` for this call."""
    token = _CONFIG_FILE.set(config_file)
    try:
        return Settings(**overrides)
    finally:
        _CONFIG_FILE.reset(token)
