"""The shared counts of failed attempts (``idp.throttle``): one row per subject and window."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base


class FailedAttempts(Base):
    """Failures of one subject (a client_id, an address) in one fixed window of one scope."""

    __tablename__ = "failed_attempts"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    window_start: Mapped[int] = mapped_column(Integer, primary_key=True)  # epoch seconds
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(Integer)  # the window's end, for `idp db prune`
