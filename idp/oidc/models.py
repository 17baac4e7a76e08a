"""Tables of the OpenID Connect provider.

Secrets (client secrets, codes, refresh and opaque access tokens) are stored as SHA-256 hashes:
a copy of the database does not let anyone redeem them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.accounts.models import utcnow
from idp.db import Base


class Client(Base):
    """A registered relying party (OIDC Dynamic Client Registration metadata names)."""

    __tablename__ = "oidc_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str | None] = mapped_column(String(128), nullable=True)
    auth_method: Mapped[str] = mapped_column(String(32))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(500), nullable=True)
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    jwks_uri: Mapped[str | None] = mapped_column(String(500), nullable=True)
    subject_type: Mapped[str] = mapped_column(String(16), default="pairwise")
    sector_identifier: Mapped[str] = mapped_column(String(255))
    access_token_format: Mapped[str] = mapped_column(String(16), default="jwt")
    id_token_alg: Mapped[str] = mapped_column(String(8), default="ES256")
    default_acr: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # RFC 7591 §2 ``grant_types``; None: the code flow's (authorization_code, refresh_token).
    # A device client (``idp clients add --device``) names the device_code grant here.
    grant_types: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # What an administrator allows this relying party to ask for (None: anything the IdP
    # offers): scopes, claims and acr values (idp.admin.clients edits them).
    allowed_scopes: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    allowed_claims: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    allowed_acrs: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # Set when an administrator disabled the client: it no longer authenticates nor logs in.
    disabled_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)


class Interaction(Base):
    """An authorization request waiting for the person (login, consent)."""

    __tablename__ = "oidc_interactions"

    uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oidc_clients.client_id"))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    csrf_token: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(Integer)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    # SHA-256 of the idp_browser cookie of the browser the authorize response went to; only
    # that browser may act on the interaction (idp.web.binding).
    browser_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The login session a login made during this interaction started: the one login that
    # satisfies its prompt=login and max_age (auth_time's whole seconds cannot tell).
    login_session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Grant(Base):
    """What one authorization granted; every code and token issued from it points here."""

    __tablename__ = "oidc_grants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oidc_clients.client_id"), index=True)
    private_id: Mapped[str] = mapped_column(ForeignKey("private_ids.id"), index=True)
    session_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    scope: Mapped[str] = mapped_column(String(500))
    claims: Mapped[dict[str, Any]] = mapped_column(JSON)  # the granted claims request
    nonce: Mapped[str | None] = mapped_column(String(255), nullable=True)
    acr: Mapped[str | None] = mapped_column(String(128), nullable=True)
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    auth_time: Mapped[int] = mapped_column(Integer)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[int] = mapped_column(Integer)


class AuthorizationCode(Base):
    __tablename__ = "oidc_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[str] = mapped_column(ForeignKey("oidc_grants.id"))
    redirect_uri: Mapped[str] = mapped_column(String(500))
    code_challenge: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[int] = mapped_column(Integer)
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class Token(Base):
    """An access token (by jti or hash of the opaque value) or a refresh token (by hash)."""

    __tablename__ = "oidc_tokens"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # access | refresh
    grant_id: Mapped[str] = mapped_column(ForeignKey("oidc_grants.id"), index=True)
    expires_at: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[int] = mapped_column(Integer)
    used: Mapped[bool] = mapped_column(Boolean, default=False)  # refresh: rotated already
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Consent(Base):
    """What a person agreed to share with one relying party, claim by claim."""

    __tablename__ = "oidc_consents"
    __table_args__ = (UniqueConstraint("private_id", "client_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    private_id: Mapped[str] = mapped_column(ForeignKey("private_ids.id"))
    client_id: Mapped[str] = mapped_column(ForeignKey("oidc_clients.client_id"))
    claims: Mapped[dict[str, list[str]]] = mapped_column(JSON)  # {"approved", "decided"}
    given_at: Mapped[int] = mapped_column(Integer)


class PushedRequest(Base):
    """A pushed authorization request (RFC 9126), redeemed once at /authorize."""

    __tablename__ = "oidc_par_requests"

    request_uri_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oidc_clients.client_id"))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    expires_at: Mapped[int] = mapped_column(Integer)
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class UsedAssertion(Base):
    """jti of client assertions and request objects already seen (replay protection)."""

    __tablename__ = "oidc_used_jtis"

    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[int] = mapped_column(Integer)


class DeviceAuthorization(Base):
    """A device authorization request (RFC 8628 §3.1) and where it stands: ``pending`` until the
    person approves (``approved``, with the grant) or declines (``denied``) on /device; then
    ``redeemed`` once the device has its tokens. Both codes are stored as SHA-256 hashes."""

    __tablename__ = "oidc_device_authorizations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oidc_clients.client_id"))
    scope: Mapped[str] = mapped_column(String(500))
    acr_values: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    grant_id: Mapped[str | None] = mapped_column(ForeignKey("oidc_grants.id"), nullable=True)
    interval: Mapped[int] = mapped_column(Integer)  # seconds between polls; +5 at slow_down
    last_polled_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the last poll's
    created_at: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(Integer, index=True)
