"""The back-channel logout outbox table (idp.oidc.logout_outbox delivers from it)."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


class LogoutDelivery(Base):
    """A logout token owed to one RP: the claims it names, not the signed token.

    The token is signed at each attempt (fresh ``iat``, ``exp``, ``jti``) because attempts run
    for longer than a logout token may live; ``sub`` and ``sid`` name the same logout each time.
    """

    __tablename__ = "oidc_logout_outbox"
    __table_args__ = (Index("ix_oidc_logout_outbox_due", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oidc_clients.client_id"))
    uri: Mapped[str] = mapped_column(String(500))
    sub: Mapped[str] = mapped_column(String(255))
    sid: Mapped[str | None] = mapped_column(String(255), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float)  # epoch seconds; a lease while sending
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[int] = mapped_column(Integer)
    finished_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
