"""Tables of the trust policy: its versions, and the CA certificates they name.

``trust_policy_versions``: one row per version, never updated; the newest is current. Its
integer primary key is the version number, so two writers can never record the same number
(the second insert fails and is retried on top of the first). ``trust_ca_certificates``: each
CA certificate once, by SHA-256 fingerprint; versions name them in their document.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base


class TrustPolicyVersion(Base):
    __tablename__ = "trust_policy_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)  # "cli:<user>", "admin:<id>"
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    document: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    diff: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    rollback_of: Mapped[int | None] = mapped_column(Integer, nullable=True)


class TrustCaCertificate(Base):
    __tablename__ = "trust_ca_certificates"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    der: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    added_at: Mapped[float] = mapped_column(Float, nullable=False)
