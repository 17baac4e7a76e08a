"""The simulator's own database: J-LIS's side (CAs, residents, certificates, verifiers).

Its own DeclarativeBase (never ``idp.db.Base``) in ``{var_dir}/sim/sim.sqlite3``. The simulator is
not production, so the schema is made with ``metadata.create_all`` on start (no migrations).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from idp.db import NAMING_CONVENTION


class SimBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class CaRecord(SimBase):
    """One CA generation (`sign-card-2023`), its delegated OCSP responder and its CRL cache."""

    __tablename__ = "sim_ca"

    ca_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(8))
    medium: Mapped[str] = mapped_column(String(8))
    label: Mapped[str] = mapped_column(String(16))
    key_pem: Mapped[bytes] = mapped_column(LargeBinary)
    certificate_der: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(64), unique=True)  # hex SubjectKeyIdentifier
    responder_key_pem: Mapped[bytes] = mapped_column(LargeBinary)
    responder_certificate_der: Mapped[bytes] = mapped_column(LargeBinary)
    crl_number: Mapped[int] = mapped_column(Integer, default=0)
    # Cache of the last CRL; cleared on every revocation so the next download rebuilds it.
    crl_der: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    crl_next_update: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Person(SimBase):
    """A resident as the basic resident register (住基) knows them, plus their consents."""

    __tablename__ = "sim_person"

    person_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_substitutes: Mapped[str] = mapped_column(String(200), default="")
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[int] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(400))
    address_substitutes: Mapped[str] = mapped_column(String(200), default="")
    prefecture: Mapped[str] = mapped_column(String(16))
    city: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16), default="resident")  # resident/emigrated/dead
    card_state: Mapped[str] = mapped_column(String(16), default="active")  # active/lost/stopped
    card_no: Mapped[int] = mapped_column(Integer, default=1)
    card_expires: Mapped[date] = mapped_column(Date)
    card_file: Mapped[str] = mapped_column(Text)
    phone_file: Mapped[str | None] = mapped_column(Text, nullable=True)
    link_consent: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class CertificateRecord(SimBase):
    """Every certificate ever issued, with its status and its 新旧 (old→new) link."""

    __tablename__ = "sim_certificate"

    serial: Mapped[str] = mapped_column(String(42), primary_key=True)  # lower-case hex
    purpose: Mapped[str] = mapped_column(String(8))
    medium: Mapped[str] = mapped_column(String(8))
    card_no: Mapped[int] = mapped_column(Integer)
    ca_id: Mapped[str] = mapped_column(ForeignKey("sim_ca.ca_id"))
    person_id: Mapped[str] = mapped_column(ForeignKey("sim_person.person_id"), index=True)
    der: Mapped[bytes] = mapped_column(LargeBinary)
    not_before: Mapped[datetime] = mapped_column(DateTime)
    not_after: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(12), default="valid")  # valid/hold/revoked
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revocation_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    previous_serial: Mapped[str | None] = mapped_column(
        ForeignKey("sim_certificate.serial"), nullable=True)
    replaced_by: Mapped[str | None] = mapped_column(String(42), nullable=True)


class Verifier(SimBase):
    """A registered verifier (署名検証者); only the SHA-256 of its API key is kept."""

    __tablename__ = "sim_verifier"

    verifier_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    api_key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class AuditEntry(SimBase):
    """One verifier call (the certification criteria demand a log of every operation)."""

    __tablename__ = "sim_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    verifier_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    endpoint: Mapped[str] = mapped_column(String(200))
    serial: Mapped[str | None] = mapped_column(String(42), nullable=True)
    outcome: Mapped[str] = mapped_column(String(200))


class MeterEntry(SimBase):
    """One charged validity check (2016 plan: sign 20 yen, auth 2 yen)."""

    __tablename__ = "sim_meter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    verifier_id: Mapped[str] = mapped_column(ForeignKey("sim_verifier.verifier_id"), index=True)
    purpose: Mapped[str] = mapped_column(String(8))
    endpoint: Mapped[str] = mapped_column(String(100))
