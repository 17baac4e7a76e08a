"""Tables of the accounts package: private IDs, their standard claims, login sessions."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_private_id() -> str:
    """A stable opaque identifier; it never encodes anything about the person."""
    return "pid_" + secrets.token_urlsafe(18)


class PrivateId(Base):
    """A private ID (民間ID). The next issue anchors it to a JPKI signing certificate."""

    __tablename__ = "private_ids"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_private_id)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="active")  # active|suspended|closed


class AccountClaims(Base):
    """Standard OIDC claims of a private ID (filled from the verified 4 info later)."""

    __tablename__ = "account_claims"

    private_id: Mapped[str] = mapped_column(ForeignKey("private_ids.id"), primary_key=True)
    claims: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LoginSession(Base):
    """One browser's login: who, when, how (amr) and at which assurance level (acr)."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_id: Mapped[str] = mapped_column(ForeignKey("private_ids.id"), index=True)
    auth_time: Mapped[int] = mapped_column(Integer)
    acr: Mapped[str] = mapped_column(String(128))
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    expires_at: Mapped[int] = mapped_column(Integer)
    ended_at: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AccountLock(Base):
    """An administrator's lock on a private ID: it signs in no more, whatever its anchor says,
    until unlocked (kept apart from ``PrivateId.state``, which follows the anchor)."""

    __tablename__ = "account_locks"

    private_id: Mapped[str] = mapped_column(ForeignKey("private_ids.id", ondelete="CASCADE"),
                                            primary_key=True)
    reason: Mapped[str] = mapped_column(String(500))
    locked_by: Mapped[str] = mapped_column(String(100))
    locked_at: Mapped[int] = mapped_column(Integer)
