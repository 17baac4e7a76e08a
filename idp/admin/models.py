"""Tables of the administrators: who they are, their passkeys, enrolments, sessions, tokens.

Administrators' passkeys are their own (``admin_credentials``), never people's: a person's
passkey signs in to their private ID, an administrator's to /admin. Every secret handed out
(enrolment URL, session cookie, API token) is stored as its SHA-256 digest only: they are
256-bit random values, so a copy of the database redeems none of them. Times are epoch seconds.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base

_ADMIN = "admin_users.id"


class Administrator(Base):
    __tablename__ = "admin_users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # idp.admin.roles.Role
    user_handle: Mapped[bytes] = mapped_column(LargeBinary(64))  # WebAuthn user.id, random
    created_at: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(100))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class AdminCredential(Base):
    __tablename__ = "admin_credentials"

    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1023), primary_key=True)
    admin_id: Mapped[str] = mapped_column(ForeignKey(_ADMIN, ondelete="CASCADE"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE_Key
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    backup_eligible: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[int] = mapped_column(Integer)
    last_used_at: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AdminEnrolment(Base):
    """A one-time enrolment URL: used once (``used_at``), before ``expires_at``."""

    __tablename__ = "admin_enrolments"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    admin_id: Mapped[str] = mapped_column(ForeignKey(_ADMIN, ondelete="CASCADE"), index=True)
    expires_at: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AdminChallenge(Base):
    """A WebAuthn challenge of an administrator's ceremony, deleted by its one answer."""

    __tablename__ = "admin_challenges"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ceremony: Mapped[str] = mapped_column(String(16))
    challenge: Mapped[bytes] = mapped_column(LargeBinary(64))
    admin_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    expires_at: Mapped[int] = mapped_column(Integer)


class AdminSession(Base):
    """A signed-in administrator's browser; ``confirmed_at``: their last passkey confirmation."""

    __tablename__ = "admin_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    admin_id: Mapped[str] = mapped_column(ForeignKey(_ADMIN, ondelete="CASCADE"), index=True)
    created_at: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(Integer)
    confirmed_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ended_at: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AdminToken(Base):
    """An API bearer token from ``idp admin token`` (opaque; its digest kept until it expires)."""

    __tablename__ = "admin_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    admin_id: Mapped[str] = mapped_column(ForeignKey(_ADMIN, ondelete="CASCADE"), index=True)
    issued_at: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(Integer)
