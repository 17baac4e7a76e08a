"""OCSP (RFC 6960) answered by each CA generation's delegated responder.

The request names the certificate by issuer name hash + issuer key hash + serial (§4.1.1); the
issuer is found by its key hash, since every generation of a CA shares one DN. The response is
signed by the generation's responder certificate (EKU id-kp-OCSPSigning, §4.2.2.2), includes that
certificate, names the responder by key hash, and echoes the request's nonce (§4.4.1).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from sqlalchemy.orm import Session

from idp.jpki.profile import Purpose
from trust.jlis_sim import ca
from trust.jlis_sim.errors import BadRequestError
from trust.jlis_sim.models import CaRecord, CertificateRecord
from trust.jlis_sim.store import Sim, from_db

_HASHES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}


@dataclass(frozen=True)
class OcspAnswer:
    der: bytes
    serial: str
    purpose: Purpose | None  # None when the issuer is not one of ours (not charged)
    status: str


def parse_request(body: bytes) -> ocsp.OCSPRequest:
    try:
        return ocsp.load_der_ocsp_request(body)
    except ValueError as error:
        raise BadRequestError(f"not a DER OCSPRequest with one CertID: {error}") from error


def answer(sim: Sim, session: Session, request: ocsp.OCSPRequest) -> OcspAnswer:
    serial = format(request.serial_number, "x")
    record = _issuer(session, request)
    if record is None:
        unauthorized = ocsp.OCSPResponseBuilder.build_unsuccessful(
            ocsp.OCSPResponseStatus.UNAUTHORIZED)
        return OcspAnswer(unauthorized.public_bytes(serialization.Encoding.DER), serial, None,
                          "unauthorized")
    loaded = ca.load(record)
    certificate = session.get(CertificateRecord, serial)
    if certificate is not None and certificate.ca_id != record.ca_id:
        certificate = None
    status, revoked_at, reason = _status(certificate)
    now = sim.now()
    builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
        issuer_name_hash=request.issuer_name_hash, issuer_key_hash=request.issuer_key_hash,
        serial_number=request.serial_number, algorithm=request.hash_algorithm,
        cert_status=status, this_update=now,
        next_update=now + timedelta(seconds=sim.crl_period_seconds),
        revocation_time=revoked_at, revocation_reason=reason)
    builder = (builder.responder_id(ocsp.OCSPResponderEncoding.HASH, loaded.responder_certificate)
               .certificates([loaded.responder_certificate]))
    try:
        nonce = request.extensions.get_extension_for_class(x509.OCSPNonce)
        builder = builder.add_extension(nonce.value, critical=False)
    except x509.ExtensionNotFound:
        pass
    response = builder.sign(loaded.responder_key, hashes.SHA256())
    return OcspAnswer(response.public_bytes(serialization.Encoding.DER), serial,
                      Purpose(record.purpose), status.name.lower())


def _issuer(session: Session, request: ocsp.OCSPRequest) -> CaRecord | None:
    digest = _HASHES.get(request.hash_algorithm.name)
    if digest is None:
        return None
    for record in ca.all_records(session):
        public_key = x509.load_der_x509_certificate(record.certificate_der).public_key()
        # issuerKeyHash covers the subjectPublicKey BIT STRING's value: for RSA the PKCS#1 key.
        pkcs1 = public_key.public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.PKCS1)
        if digest(pkcs1).digest() == request.issuer_key_hash:
            return record
    return None


def _status(record: CertificateRecord | None) -> tuple[
        ocsp.OCSPCertStatus, datetime | None, x509.ReasonFlags | None]:
    if record is None:
        return ocsp.OCSPCertStatus.UNKNOWN, None, None
    if record.status == "valid":
        return ocsp.OCSPCertStatus.GOOD, None, None
    assert record.revoked_at is not None  # noqa: S101
    reason = x509.ReasonFlags(record.revocation_reason) if record.revocation_reason else None
    return ocsp.OCSPCertStatus.REVOKED, from_db(record.revoked_at), reason
