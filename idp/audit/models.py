"""Tables of the audit log (migrations 0017, 0020): the entries, their head, the signed
checkpoints, the prunes."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base


class AuditRow(Base):
    """One entry (``idp.audit.entries.Entry``); ``details`` is its canonical JSON."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_actor", "actor", "seq"),
                      Index("ix_audit_log_action", "action", "seq"),
                      Index("ix_audit_log_time", "time"))

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    time: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(300), nullable=True)
    outcome: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The one row (id 1) naming the last entry: every append locks it first, which orders
    appends across workers and nodes (PostgreSQL row lock; SQLite's one writer)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class CheckpointRow(Base):
    """A signed checkpoint (``idp.audit.checkpoints``) as it was handed out."""

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))
    time: Mapped[str] = mapped_column(String(32))
    jws: Mapped[str] = mapped_column(Text)


class PruneRow(Base):
    """A prune (``idp.audit.retention``, migration 0020): entries up to ``seq`` were deleted
    after ``jws``, a signed checkpoint of entry ``seq`` marked as a prune, was made."""

    __tablename__ = "audit_prunes"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))
    before: Mapped[str] = mapped_column(String(32))
    time: Mapped[str] = mapped_column(String(32))
    jws: Mapped[str] = mapped_column(Text)
