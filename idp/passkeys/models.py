"""Tables of the passkey component: passkeys, the user handle of each private ID, challenges.

The private ID table (``private_ids``) belongs to ``idp.accounts``; it is referenced here by name
only, since the two packages are independent layers.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base

MAX_CREDENTIAL_ID = 1023  # WebAuthn L3 §5.4.3: a credential ID is at most 1023 bytes
MAX_NAME = 64


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_passkey_id() -> str:
    return "pk_" + secrets.token_urlsafe(12)


class PasskeyUser(Base):
    """The WebAuthn user handle of one private ID (§14.6.1: random, never personal data).

    One per private ID, so every passkey an authenticator holds for this person shares it and a
    second registration on the same authenticator replaces, rather than duplicates, the first.
    """

    __tablename__ = "passkey_users"

    private_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("private_ids.id", ondelete="CASCADE"), primary_key=True
    )
    user_handle: Mapped[bytes] = mapped_column(LargeBinary(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Passkey(Base):
    """A registered passkey, bound to a private ID and to the anchor it was enrolled under."""

    __tablename__ = "passkeys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_passkey_id)
    private_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("private_ids.id", ondelete="CASCADE"), index=True
    )
    credential_id: Mapped[bytes] = mapped_column(
        LargeBinary(MAX_CREDENTIAL_ID), unique=True, index=True
    )
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE_Key
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)  # uint32 (§6.1.1)
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    aaguid: Mapped[str] = mapped_column(String(36))
    backup_eligible: Mapped[bool] = mapped_column(Boolean)  # BE: fixed for the credential's life
    backup_state: Mapped[bool] = mapped_column(Boolean)  # BS: updated at each use
    device_type: Mapped[str] = mapped_column(String(16))  # single_device | multi_device
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    user_handle: Mapped[bytes] = mapped_column(LargeBinary(64))
    # The JPKI signing certificate (the private ID's anchor) current when this passkey was made.
    anchor_issuer: Mapped[str] = mapped_column(String(500))
    anchor_serial: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PasskeyChallenge(Base):
    """A challenge handed out and not yet answered; deleted when answered (single use)."""

    __tablename__ = "passkey_challenges"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ceremony: Mapped[str] = mapped_column(String(16))
    challenge: Mapped[bytes] = mapped_column(LargeBinary(64))
    private_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    anchor_issuer: Mapped[str | None] = mapped_column(String(500), nullable=True)
    anchor_serial: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Epoch seconds: compared in SQL and in Python alike, whatever the engine does with zones.
    expires_at: Mapped[int] = mapped_column(Integer, index=True)
