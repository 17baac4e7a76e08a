"""Full CRLs per CA generation (RFC 5280 §5), cached until a revocation or nextUpdate.

J-LIS publishes a full CRL per CA, valid 24 hours (nextUpdate = thisUpdate + 24 h); the period is
``sim.crl_period_seconds``. Certificates on hold appear with reason certificateHold; a lifted hold
simply disappears from the next CRL (RFC 5280 §5.3.1 allows removeFromCRL only in delta CRLs).
"""

from __future__ import annotations

from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from trust.jlis_sim import ca
from trust.jlis_sim.models import CaRecord, CertificateRecord
from trust.jlis_sim.store import Sim, from_db, to_db


def current_crl(sim: Sim, session: Session, record: CaRecord) -> bytes:
    """The CA's CRL (DER), rebuilt when the cache was cleared or its nextUpdate has passed."""
    now = sim.now()
    fresh = record.crl_next_update is not None and from_db(record.crl_next_update) > now
    if record.crl_der is None or not fresh:
        record.crl_number += 1
        record.crl_der = build(sim, session, record)
        record.crl_next_update = to_db(now + timedelta(seconds=sim.crl_period_seconds))
    return record.crl_der


def build(sim: Sim, session: Session, record: CaRecord) -> bytes:
    authority = ca.load(record).generation
    now = sim.now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(authority.certificate.subject)
        .last_update(now)
        .next_update(now + timedelta(seconds=sim.crl_period_seconds))
        .add_extension(x509.CRLNumber(record.crl_number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            authority.key.public_key()), critical=False)
    )
    for entry in _revoked(session, record.ca_id):
        builder = builder.add_revoked_certificate(_entry(entry))
    crl = builder.sign(authority.key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.DER)


def _revoked(session: Session, ca_id: str) -> list[CertificateRecord]:
    return list(session.scalars(
        select(CertificateRecord)
        .where(CertificateRecord.ca_id == ca_id,
               CertificateRecord.status.in_(("revoked", "hold")))
        .order_by(CertificateRecord.revoked_at)))


def _entry(record: CertificateRecord) -> x509.RevokedCertificate:
    assert record.revoked_at is not None  # noqa: S101  (set whenever the status leaves valid)
    builder = (x509.RevokedCertificateBuilder()
               .serial_number(int(record.serial, 16))
               .revocation_date(from_db(record.revoked_at)))
    if record.revocation_reason:
        builder = builder.add_extension(
            x509.CRLReason(x509.ReasonFlags(record.revocation_reason)), critical=False)
    return builder.build()
