"""Tables of the JPKI anchoring: anchors, 4-info history, auth links, consents, card requests.

A private ID is anchored to a JPKI signing certificate (domain.md): the anchor row keeps the
certificate as verified, its last revocation check and the state ``anchor_policy`` decided. The
card's auth certificate is linked through J-LIS (``/v1/links/pair``), so a card login maps the
auth serial to the private ID; a renewal is followed through ``/v1/links/previous``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from idp.accounts.models import utcnow
from idp.db import Base

_PID = "private_ids.id"


class JpkiAnchor(Base):
    """One signing certificate a private ID was anchored to (the newest unsuperseded is live)."""

    __tablename__ = "anchors"
    # Everything `idp recheck` reads of a million live anchors, so it never scans the rows
    # themselves (each holds its certificate: gigabytes at that size). SQLite keys every index
    # by the row id too.
    __table_args__ = (Index("ix_anchors_recheck", "superseded_by", "issuer_key_id", "state",
                            "last_result", "not_after", "serial_hex"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    private_id: Mapped[str] = mapped_column(ForeignKey(_PID, ondelete="CASCADE"), index=True)
    issuer_dn: Mapped[str] = mapped_column(String(512))
    issuer_key_id: Mapped[str] = mapped_column(String(128))
    serial_hex: Mapped[str] = mapped_column(String(64), unique=True)
    certificate: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16), default="current")
    last_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                             nullable=True)
    last_result: Mapped[str | None] = mapped_column(String(128), nullable=True)
    superseded_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The certificate's notAfter in epoch seconds: `idp recheck` reads it for a million anchors
    # without parsing a certificate (idp.accounts.recheck).
    not_after: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Basic4Record(Base):
    """The 4 info as certified (or as J-LIS provided them); only one row per person is current."""

    __tablename__ = "basic4_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    private_id: Mapped[str] = mapped_column(ForeignKey(_PID, ondelete="CASCADE"), index=True)
    basic4: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(16))  # certificate | jlis_provision
    anchor_serial: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    current: Mapped[bool] = mapped_column(Boolean, default=True)


class AuthLink(Base):
    """An auth certificate serial known to belong to the private ID's card."""

    __tablename__ = "auth_links"

    serial_hex: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_id: Mapped[str] = mapped_column(ForeignKey(_PID, ondelete="CASCADE"), index=True)
    issuer_dn: Mapped[str | None] = mapped_column(String(512), nullable=True)
    certificate: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    via: Mapped[str] = mapped_column(String(16))  # jlis_pair | jlis_previous | card_login
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # With the certificate: its issuing CA's key id (hex, from the authority key identifier)
    # and notAfter (epoch seconds), which `idp recheck` reads instead of parsing it.
    issuer_key_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    not_after: Mapped[int | None] = mapped_column(Integer, nullable=True)


class JpkiConsent(Base):
    """What the person agreed to: terms, J-LIS serial linking, a 4-info refresh."""

    __tablename__ = "consents_jpki"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    private_id: Mapped[str] = mapped_column(ForeignKey(_PID, ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # terms | jlis_link | basic4_refresh
    version: Mapped[str] = mapped_column(String(128))  # terms version or consent text hash
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CardRequestRow(Base):
    """A card request (contract.md): answered once, continued only by the browser that made it."""

    __tablename__ = "card_requests"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    interaction_uid: Mapped[str] = mapped_column(String(64), index=True)
    browser_hash: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(16))  # onboard|login|reissue|consent|sign
    certificate_purpose: Mapped[str] = mapped_column(String(8))  # sign | auth
    nonce: Mapped[str] = mapped_column(String(64))
    consent_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Purpose sign: the document ({"title", "text"}) the card app shows and the card signs.
    document: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    # Onboarding: the terms (and J-LIS link) the browser agreed to before asking the card.
    terms_version: Mapped[str | None] = mapped_column(String(32), nullable=True)
    terms_agreed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                             nullable=True)
    private_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Re-issue and 4-info refresh: the login session that asked, which the accepted answer
    # raises to the level of the new anchor (no ``continue`` is needed after them).
    session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)  # accepted|refused
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_description: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    continued: Mapped[bool] = mapped_column(Boolean, default=False)


class RecheckRun(Base):
    """A completed ``idp recheck --all``: it checked every live anchor at ``started_at``, so an
    anchor's last check is the later of its own ``last_checked_at`` and the newest run's start
    (writing a million timestamps would rewrite a million rows, certificates and all)."""

    __tablename__ = "recheck_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    checked: Mapped[int] = mapped_column(Integer)
    changed: Mapped[int] = mapped_column(Integer)
