"""Tables of the Shared Signals transmitter: streams, removed subjects, the events outbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base

PENDING, DELIVERED, FAILED, DROPPED = "pending", "delivered", "failed", "dropped"
_STREAM = "ssf_streams.stream_id"


class Stream(Base):
    """A relying party's event stream (SSF §8.1.1); one per relying party."""

    __tablename__ = "ssf_streams"

    stream_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oidc_clients.client_id"), unique=True)
    events_requested: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    events_delivered: Mapped[list[str]] = mapped_column(JSON)
    method: Mapped[str] = mapped_column(String(32))  # urn:ietf:rfc:8935 (push) | 8936 (poll)
    endpoint_url: Mapped[str | None] = mapped_column(String(500), nullable=True)  # push only
    # Sent with every push as the receiver asked (SSF §6.1.1): a credential of theirs, kept as
    # given because it must be sent as given.
    authorization_header: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    description: Mapped[str | None] = mapped_column(String(500), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="enabled")  # enabled|paused|disabled
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    verified_at: Mapped[float | None] = mapped_column(Float, nullable=True)  # last verify asked
    failures: Mapped[int] = mapped_column(Integer, default=0)  # pushes failed in a row
    # Push: when the next push may start; also the lease of the process pushing now.
    next_push_at: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[int] = mapped_column(Integer)


class RemovedSubject(Base):
    """A subject the receiver removed from its stream (every consenting person is in by
    default: ``default_subjects`` ALL); adding it again deletes the row."""

    __tablename__ = "ssf_removed_subjects"

    stream_id: Mapped[str] = mapped_column(ForeignKey(_STREAM, ondelete="CASCADE"),
                                           primary_key=True)
    sub: Mapped[str] = mapped_column(String(255), primary_key=True)


class SecurityEvent(Base):
    """A Security Event Token owed to one stream: what its claims are made of (the issuer and
    the stream's receiver complete them), signed at each delivery (push or poll) with the same
    ``jti`` and ``iat``, so a receiver recognises a SET delivered twice. Only the event's own
    members are stored: a batch re-check owes tens of thousands at once."""

    __tablename__ = "ssf_events"
    __table_args__ = (Index("ix_ssf_events_stream_state", "stream_id", "state", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    stream_id: Mapped[str] = mapped_column(ForeignKey(_STREAM, ondelete="CASCADE"))
    # Whose change it is: delivered only while that person's consent to the relying party
    # stands. None for events about the stream itself, and for a purged account.
    private_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # 128 random bits (secrets.token_urlsafe(16)): unique without a unique index, which a
    # batch owing tens of thousands of SETs would pay for in random index page writes.
    jti: Mapped[str] = mapped_column(String(64))
    txn: Mapped[str] = mapped_column(String(64))  # shared by the SETs of one cause
    # The person as this receiver knows them (iss_sub); None: the stream itself (opaque).
    sub: Mapped[str | None] = mapped_column(String(255), nullable=True)
    event_type: Mapped[str] = mapped_column(String(200))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)  # the event's members
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Poll: when a SET served and not acknowledged may be served again.
    next_attempt_at: Mapped[float] = mapped_column(Float, default=0.0)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[int] = mapped_column(Integer)  # the SET's iat
    finished_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
