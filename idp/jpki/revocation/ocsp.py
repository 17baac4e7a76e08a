"""Revocation status by OCSP (RFC 6960), with every check a relying party owes the answer.

Request: one CertID (SHA-1 hashes, as RFC 5019 §2.1.1 profiles it) and a fresh nonce
(RFC 8954). Response, in order: successful status → a single response for our CertID → a
signature by the CA itself or by a delegated responder the same CA generation issued with EKU
id-kp-OCSPSigning, valid now (RFC 6960 §4.2.2.2) → our nonce echoed → thisUpdate not older than
the policy allows and nextUpdate (when present) not passed (§3.2 items 5–6).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from idp.errors import IdpError
from idp.jpki.certificate import JpkiCertificate
from idp.jpki.errors import OcspUnavailableError, RevocationReason
from idp.jpki.revocation.status import CertState, Clock, RevocationStatus

_CLOCK_SKEW = timedelta(minutes=5)
_STATES = {ocsp.OCSPCertStatus.GOOD: CertState.GOOD,
           ocsp.OCSPCertStatus.REVOKED: CertState.REVOKED,
           ocsp.OCSPCertStatus.UNKNOWN: CertState.UNKNOWN}


class OcspTransport(Protocol):
    """Sends a DER OCSPRequest and returns the DER OCSPResponse (``HttpJlisClient`` is one)."""

    def ocsp(self, request_der: bytes) -> bytes: ...


def build_request(certificate: x509.Certificate, issuer: x509.Certificate,
                  nonce: bytes) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(
        certificate, issuer, hashes.SHA1())  # noqa: S303  (CertID hash per RFC 5019, not a MAC)
    builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


class OcspSource:
    """A :class:`RevocationSource` asking the J-LIS OCSP responder, one request per check."""

    source = "ocsp"

    def __init__(self, transport: OcspTransport, clock: Clock, *,
                 max_age_seconds: int = 300) -> None:
        self._transport = transport
        self._clock = clock
        self._max_age = timedelta(seconds=max_age_seconds)

    def status(self, certificate: JpkiCertificate, issuer: x509.Certificate) -> RevocationStatus:
        nonce = os.urandom(16)
        request = build_request(certificate.certificate, issuer, nonce)
        try:
            answer = self._transport.ocsp(request)
        except IdpError as exc:
            raise OcspUnavailableError(
                f"the OCSP responder could not be reached ({exc}); try again later") from exc
        return self.check_response(answer, certificate, issuer, nonce)

    def check_response(self, answer: bytes, certificate: JpkiCertificate,
                       issuer: x509.Certificate, nonce: bytes) -> RevocationStatus:
        now = self._clock.now()
        response = _load(answer)
        single = _single_for(response, certificate, issuer)
        _check_signature(response, issuer, now)
        _check_nonce(response, nonce)
        self._check_freshness(single, now)
        state = _STATES[single.certificate_status]
        reason = None
        if state is CertState.REVOKED:
            flag = single.revocation_reason
            reason = RevocationReason(flag.value) if flag else RevocationReason.UNSPECIFIED
        return RevocationStatus(state, self.source, single.this_update_utc,
                                single.next_update_utc, reason, single.revocation_time_utc)

    def _check_freshness(self, single: ocsp.OCSPSingleResponse, now: datetime) -> None:
        if single.this_update_utc > now + _CLOCK_SKEW:
            raise OcspUnavailableError("the OCSP answer is dated in the future; check the clocks")
        if now - single.this_update_utc > self._max_age:
            raise OcspUnavailableError(
                f"the OCSP answer is from {single.this_update_utc:%Y-%m-%d %H:%M:%S} UTC, "
                f"older than the {self._max_age} the trust policy allows")
        if single.next_update_utc is not None and now > single.next_update_utc + _CLOCK_SKEW:
            raise OcspUnavailableError("the OCSP answer is past its nextUpdate")


def _load(answer: bytes) -> ocsp.OCSPResponse:
    try:
        response = ocsp.load_der_ocsp_response(answer)
    except ValueError as exc:
        raise OcspUnavailableError(
            f"the OCSP responder sent no valid OCSP response ({exc})") from exc
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise OcspUnavailableError(f"the OCSP responder refused: {response.response_status.name}")
    return response


def _single_for(response: ocsp.OCSPResponse, certificate: JpkiCertificate,
                issuer: x509.Certificate) -> ocsp.OCSPSingleResponse:
    for single in response.responses:
        if single.serial_number == certificate.serial and _same_issuer(single, issuer):
            return single
    raise OcspUnavailableError("the OCSP answer is about another certificate (CertID mismatch)")


def _same_issuer(single: ocsp.OCSPSingleResponse, issuer: x509.Certificate) -> bool:
    algorithm = single.hash_algorithm
    name_hash = hashes.Hash(algorithm)
    name_hash.update(issuer.subject.public_bytes())
    key_hash = hashes.Hash(algorithm)
    key_hash.update(_public_key_bits(issuer))
    return (single.issuer_name_hash == name_hash.finalize()
            and single.issuer_key_hash == key_hash.finalize())


def _public_key_bits(certificate: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING content (RFC 6960 §4.1.1 issuerKeyHash): PKCS#1 DER."""
    return certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1)


def _check_signature(response: ocsp.OCSPResponse, issuer: x509.Certificate,
                     now: datetime) -> None:
    signer = _responder(response, issuer, now)
    key = signer.public_key()
    algorithm = response.signature_hash_algorithm
    if not isinstance(key, rsa.RSAPublicKey) or algorithm is None:
        raise OcspUnavailableError("the OCSP answer is not RSA-signed as J-LIS signs")
    try:
        key.verify(response.signature, response.tbs_response_bytes, padding.PKCS1v15(),
                   algorithm)
    except InvalidSignature as exc:
        raise OcspUnavailableError(
            "the OCSP answer's signature does not verify; refusing it") from exc


def _responder(response: ocsp.OCSPResponse, issuer: x509.Certificate,
               now: datetime) -> x509.Certificate:
    """The CA itself, or a delegated responder it issued for OCSP signing (RFC 6960 §4.2.2.2)."""
    for candidate in response.certificates:
        if candidate == issuer:
            break  # the CA signs itself; its certificate may travel along
        if _names_responder(response, candidate):
            _check_delegation(candidate, issuer, now)
            return candidate
    if _names_responder(response, issuer):
        return issuer
    raise OcspUnavailableError("the OCSP answer is signed by an unknown responder")


def _names_responder(response: ocsp.OCSPResponse, certificate: x509.Certificate) -> bool:
    if response.responder_name is not None:
        return response.responder_name == certificate.subject
    digest = hashes.Hash(hashes.SHA1())  # noqa: S303  (ResponderID byKey is SHA-1 by definition)
    digest.update(_public_key_bits(certificate))
    return response.responder_key_hash == digest.finalize()


def _check_delegation(responder: x509.Certificate, issuer: x509.Certificate,
                      now: datetime) -> None:
    try:
        responder.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise OcspUnavailableError("the OCSP responder certificate was not issued by the CA "
                                   "generation of the certificate; refusing the answer") from exc
    try:
        usages = responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = x509.ExtendedKeyUsage([])
    if ExtendedKeyUsageOID.OCSP_SIGNING not in usages:
        raise OcspUnavailableError("the OCSP responder certificate lacks id-kp-OCSPSigning")
    if not responder.not_valid_before_utc <= now <= responder.not_valid_after_utc:
        raise OcspUnavailableError("the OCSP responder certificate is outside its validity")


def _check_nonce(response: ocsp.OCSPResponse, nonce: bytes) -> None:
    try:
        echoed = response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound as exc:
        raise OcspUnavailableError(
            "the OCSP answer does not echo the request nonce (replay?)") from exc
    if echoed != nonce:
        raise OcspUnavailableError("the OCSP answer's nonce is not this request's (replay?)")
