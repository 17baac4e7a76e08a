"""A throwaway JPKI-SIM PKI for trust-core tests: CA generations, cards' certificates, CRLs, OCSP.

Everything is built with ``cryptography``'s builders and ``trust.jlis_sim.issuing`` (the real
JPKI profile). RSA keys are the slow part, so keys and CAs are made once per session; tests make
their own certificates, CRLs and OCSP responses from them at a fixed time ``NOW``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from idp.jpki.anchors import TrustAnchors
from idp.jpki.profile import Basic4Info, Medium, Purpose, Sex
from trust.jlis_sim.issuing import (
    CaGeneration,
    issue_auth_certificate,
    issue_sign_certificate,
    new_ca,
    new_rsa_key,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CA_START, CA_END = datetime(2023, 1, 1, tzinfo=UTC), datetime(2033, 1, 1, tzinfo=UTC)
HANAKO = Basic4Info(name="山田　花子", birth_date=date(1980, 2, 17), sex=Sex.FEMALE,
                    address="東京都千代田区霞が関二丁目1番2号")


@functools.cache
def key(name: str) -> rsa.RSAPrivateKey:
    """One RSA key per name per session (keys are what makes PKI tests slow)."""
    return new_rsa_key()


@functools.cache
def ca(purpose: Purpose, label: str = "2023", medium: Medium = Medium.CARD) -> CaGeneration:
    """A CA generation; generations of one purpose+medium share the DN, never the key."""
    return new_ca(purpose, label, CA_START, CA_END, medium=medium,
                  key=key(f"ca-{purpose}-{label}-{medium}"))


def anchors(*generations: CaGeneration) -> TrustAnchors:
    result = TrustAnchors(())
    for generation in generations:
        result += TrustAnchors.of(generation.purpose, [generation.certificate])
    return result


def sign_cert(issuer: CaGeneration | None = None, *, serial: int = 0x1001,
              info: Basic4Info = HANAKO, not_before: datetime = NOW - timedelta(days=30),
              not_after: datetime = NOW + timedelta(days=365)) -> x509.Certificate:
    return issue_sign_certificate(
        issuer or ca(Purpose.SIGN), key("holder-sign").public_key(), serial=serial, info=info,
        prefecture="東京都", city="千代田区", subject_id="SIGNTEST0001",
        not_before=not_before, not_after=not_after, urls=None)


def auth_cert(issuer: CaGeneration | None = None, *, serial: int = 0x2001,
              not_before: datetime = NOW - timedelta(days=30),
              not_after: datetime = NOW + timedelta(days=365)) -> x509.Certificate:
    return issue_auth_certificate(
        issuer or ca(Purpose.AUTH), key("holder-auth").public_key(), serial=serial,
        subject_id="AUTHTEST0001", not_before=not_before, not_after=not_after, urls=None)


def der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class Revoked:
    serial: int
    reason: x509.ReasonFlags | None = x509.ReasonFlags.superseded
    at: datetime = NOW - timedelta(days=1)


def crl(issuer: CaGeneration, revoked: list[Revoked], *, this_update: datetime = NOW,
        next_update: datetime = NOW + timedelta(hours=24), number: int = 1,
        signer: rsa.RSAPrivateKey | None = None) -> bytes:
    """A DER CRL of ``issuer`` (signed by ``signer`` to forge one)."""
    builder = (x509.CertificateRevocationListBuilder()
               .issuer_name(issuer.certificate.subject)
               .last_update(this_update).next_update(next_update)
               .add_extension(x509.CRLNumber(number), critical=False))
    for entry in revoked:
        item = (x509.RevokedCertificateBuilder().serial_number(entry.serial)
                .revocation_date(entry.at))
        if entry.reason is not None:
            item = item.add_extension(x509.CRLReason(entry.reason), critical=False)
        builder = builder.add_revoked_certificate(item.build())
    signed = builder.sign(signer or issuer.key, hashes.SHA256())
    return signed.public_bytes(serialization.Encoding.DER)


def responder(issuer: CaGeneration, *, eku: bool = True,
              signer: rsa.RSAPrivateKey | None = None) -> x509.Certificate:
    """A delegated OCSP responder certificate issued by ``issuer`` (RFC 6960 §4.2.2.2)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"OCSP {issuer.label}")])
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer.certificate.subject)
               .public_key(key(f"responder-{issuer.label}").public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(CA_START).not_valid_after(CA_END))
    if eku:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
    return builder.sign(signer or issuer.key, hashes.SHA256())


def ocsp_response(issuer: CaGeneration, certificate: x509.Certificate, nonce: bytes | None, *,
                  status: ocsp.OCSPCertStatus = ocsp.OCSPCertStatus.GOOD,
                  reason: x509.ReasonFlags | None = None, this_update: datetime = NOW,
                  responder_cert: x509.Certificate | None = None,
                  responder_key: rsa.RSAPrivateKey | None = None) -> bytes:
    """A DER OCSP response about ``certificate``, signed by a delegated responder by default."""
    responder_cert = responder_cert or responder(issuer)
    revoked_at = NOW - timedelta(days=1) if status is ocsp.OCSPCertStatus.REVOKED else None
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=certificate, issuer=issuer.certificate,
        algorithm=hashes.SHA1(),  # noqa: S303
        cert_status=status, this_update=this_update, next_update=this_update + timedelta(hours=1),
        revocation_time=revoked_at, revocation_reason=reason)
    builder = (builder.responder_id(ocsp.OCSPResponderEncoding.HASH, responder_cert)
               .certificates([responder_cert]))
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    signing_key = responder_key or key(f"responder-{issuer.label}")
    return builder.sign(signing_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
