"""The simulator's CA generations: created once, loaded from the database afterwards.

Like J-LIS (roots of 2015, 2019 and 2023 with one DN each), the card CAs come in two generations
sharing one DN per purpose; new certificates come from the newest generation, older ones stay valid
until they expire. A verifier must therefore pick the issuer by key (AKI/SKI), not by name. The
smartphone CAs are one generation with their own DN (assumed: the phone profile is not public).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.jpki.profile import Medium, Purpose
from trust.jlis_sim.errors import UnknownCaError
from trust.jlis_sim.issuing import (
    CaGeneration,
    SimUrls,
    issue_ocsp_responder_certificate,
    new_ca,
    new_rsa_key,
)
from trust.jlis_sim.models import CaRecord

# (medium, label, not_before year, not_after year): the generations the simulator runs.
GENERATIONS: tuple[tuple[Medium, str, int, int], ...] = (
    (Medium.CARD, "2019", 2019, 2031),
    (Medium.CARD, "2023", 2023, 2035),
    (Medium.PHONE, "2023", 2023, 2035),
)


def ca_id_of(purpose: Purpose, medium: Medium, label: str) -> str:
    return f"{purpose.value}-{medium.value}-{label}"


@dataclass(frozen=True)
class LoadedCa:
    """A CA generation with its delegated OCSP responder, ready to sign."""

    ca_id: str
    generation: CaGeneration
    responder_key: rsa.RSAPrivateKey
    responder_certificate: x509.Certificate

    @property
    def key_id(self) -> str:
        return _ski(self.generation.certificate)

    def urls(self, base_url: str) -> SimUrls:
        base = base_url.rstrip("/")
        return SimUrls(crl=f"{base}/v1/crl/{self.ca_id}", ocsp=f"{base}/v1/ocsp",
                       ca_issuers=f"{base}/ca/{self.ca_id}.der")


def bootstrap(session: Session) -> None:
    """Create every missing CA generation (idempotent)."""
    existing = set(session.scalars(select(CaRecord.ca_id)))
    for medium, label, start, end in GENERATIONS:
        for purpose in Purpose:
            ca_id = ca_id_of(purpose, medium, label)
            if ca_id not in existing:
                session.add(_create(ca_id, purpose, medium, label, start, end))
    session.flush()


def _create(ca_id: str, purpose: Purpose, medium: Medium, label: str, start: int,
            end: int) -> CaRecord:
    not_before = datetime(start, 1, 1, tzinfo=UTC)
    not_after = datetime(end, 12, 31, 23, 59, 59, tzinfo=UTC)
    generation = new_ca(purpose, label, not_before, not_after, medium=medium)
    responder_key = new_rsa_key()
    responder = issue_ocsp_responder_certificate(
        generation, responder_key.public_key(), not_before=not_before, not_after=not_after)
    return CaRecord(
        ca_id=ca_id, purpose=purpose.value, medium=medium.value, label=label,
        key_pem=_pem(generation.key), certificate_der=_der(generation.certificate),
        key_id=_ski(generation.certificate), responder_key_pem=_pem(responder_key),
        responder_certificate_der=_der(responder), crl_number=0)


def load(record: CaRecord) -> LoadedCa:
    key = serialization.load_pem_private_key(record.key_pem, None)
    responder_key = serialization.load_pem_private_key(record.responder_key_pem, None)
    assert isinstance(key, rsa.RSAPrivateKey)  # noqa: S101  (we only ever store RSA keys)
    assert isinstance(responder_key, rsa.RSAPrivateKey)  # noqa: S101
    generation = CaGeneration(Purpose(record.purpose), Medium(record.medium), record.label, key,
                              x509.load_der_x509_certificate(record.certificate_der))
    return LoadedCa(record.ca_id, generation, responder_key,
                    x509.load_der_x509_certificate(record.responder_certificate_der))


def get(session: Session, ca_id: str) -> CaRecord:
    record = session.get(CaRecord, ca_id)
    if record is None:
        raise UnknownCaError(f"no CA generation {ca_id!r}")
    return record


def by_key_id(session: Session, key_id: str) -> CaRecord:
    record = session.scalar(select(CaRecord).where(CaRecord.key_id == key_id.lower()))
    if record is None:
        raise UnknownCaError(f"no CA generation with key id {key_id!r}")
    return record


def current(session: Session, purpose: Purpose, medium: Medium,
            label: str | None = None) -> LoadedCa:
    """The generation that issues new certificates: the newest one, unless ``label`` says."""
    labels = [g[1] for g in GENERATIONS if g[0] is medium]
    return load(get(session, ca_id_of(purpose, medium, label or max(labels))))


def all_records(session: Session) -> list[CaRecord]:
    return list(session.scalars(select(CaRecord).order_by(CaRecord.ca_id)))


def _ski(certificate: x509.Certificate) -> str:
    ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    return ski.value.digest.hex()


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)
