"""Path validation of a JPKI end-entity certificate against the configured anchors.

The JPKI path is one step: J-LIS's self-signed CA (one generation of it) signs the card's
certificate directly. Steps (RFC 5280 §6.1 reduced to that shape, plus the JPKI profile):

1. purpose — the certificate policy must be the one the caller expects;
2. issuer — an anchor of that purpose with the issuer DN must exist, and one of its generations'
   keys must verify the signature (AKI = SKI tried first);
3. validity — of the certificate and of the issuing anchor, at the given time;
4. profile — basicConstraints cA=FALSE, key usage of the purpose, no unknown critical extension.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtensionOID

from idp.jpki.anchors import TrustAnchor, TrustAnchors
from idp.jpki.certificate import JpkiCertificate, parse_certificate
from idp.jpki.errors import (
    AnchorExpiredError,
    CertificateExpiredError,
    CertificateNotYetValidError,
    InvalidCertificateError,
    IssuerKeyMismatchError,
    UnknownIssuerError,
    WrongPurposeError,
)
from idp.jpki.profile import Purpose

_PURPOSE_NAMES = {Purpose.SIGN: "signing certificate (署名用電子証明書, 6–16 character PIN)",
                  Purpose.AUTH: "user-authentication certificate (利用者証明用電子証明書, "
                  "4-digit PIN)"}

# Extensions this validator understands; any other critical one makes the certificate unusable.
_KNOWN = {ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.KEY_USAGE,
          ExtensionOID.CERTIFICATE_POLICIES, ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
          ExtensionOID.AUTHORITY_KEY_IDENTIFIER, ExtensionOID.SUBJECT_KEY_IDENTIFIER,
          ExtensionOID.CRL_DISTRIBUTION_POINTS, ExtensionOID.AUTHORITY_INFORMATION_ACCESS}


@dataclass(frozen=True, slots=True)
class VerifiedCertificate:
    """A certificate that chains to ``anchor``, checked at ``checked_at`` (revocation apart)."""

    certificate: JpkiCertificate
    anchor: TrustAnchor
    checked_at: datetime

    @property
    def purpose(self) -> Purpose:
        return self.certificate.purpose


def verify_certificate(certificate: JpkiCertificate, *, expected_purpose: Purpose,
                       anchors: TrustAnchors, at: datetime) -> VerifiedCertificate:
    """Validate ``certificate`` for ``expected_purpose`` at ``at``; raise a JpkiError if not."""
    _check_purpose(certificate, expected_purpose)
    anchor = _find_issuer(certificate, expected_purpose, anchors)
    _check_validity(certificate, anchor, at)
    _check_profile(certificate)
    return VerifiedCertificate(certificate, anchor, at)


def _check_purpose(certificate: JpkiCertificate, expected: Purpose) -> None:
    if certificate.purpose is not expected:
        raise WrongPurposeError(f"this is the {_PURPOSE_NAMES[certificate.purpose]}; this step "
                                f"needs the {_PURPOSE_NAMES[expected]}")


def _find_issuer(certificate: JpkiCertificate, purpose: Purpose,
                 anchors: TrustAnchors) -> TrustAnchor:
    candidates = anchors.candidates(certificate, purpose)
    if not candidates:
        raise UnknownIssuerError(
            f"no trusted {purpose.value} CA is named {certificate.issuer_dn!r}; only J-LIS "
            "certificates of the configured CA generations are accepted")
    for anchor in candidates:
        try:
            certificate.certificate.verify_directly_issued_by(anchor.certificate)
        except (InvalidSignature, ValueError, TypeError):
            continue
        return anchor
    raise IssuerKeyMismatchError(
        f"the certificate names the CA {certificate.issuer_dn!r}, but none of the "
        f"{len(candidates)} trusted generation(s) of that CA signed it (forged, or issued by a "
        "CA generation not in the trust anchors)")


def issuing_anchor(certificate: JpkiCertificate, purpose: Purpose,
                   anchors: TrustAnchors) -> TrustAnchor | None:
    """The anchor among ``anchors`` whose key signed ``certificate``, if any (no other check):
    e.g. to tell a certificate of a retired CA generation from an unknown one."""
    try:
        return _find_issuer(certificate, purpose, anchors)
    except UnknownIssuerError:
        return None


def _check_validity(certificate: JpkiCertificate, anchor: TrustAnchor, at: datetime) -> None:
    if at < certificate.not_before:
        raise CertificateNotYetValidError(f"the certificate is valid only from "
                                          f"{certificate.not_before:%Y-%m-%d %H:%M} UTC; check the "
                                          "clock or try again later")
    if at > certificate.not_after:
        raise CertificateExpiredError(
            f"the certificate expired on {certificate.not_after:%Y-%m-%d}; renew it at the "
            "municipal office (市区町村窓口)")
    ca = anchor.certificate
    if not ca.not_valid_before_utc <= at <= ca.not_valid_after_utc:
        raise AnchorExpiredError(f"the issuing CA {anchor.label} is valid only "
                                 f"{ca.not_valid_before_utc:%Y-%m-%d} to "
                                 f"{ca.not_valid_after_utc:%Y-%m-%d}; renew the certificate")


def _check_profile(certificate: JpkiCertificate) -> None:
    extensions = certificate.certificate.extensions
    unknown = [e.oid.dotted_string for e in extensions if e.critical and e.oid not in _KNOWN]
    if unknown:
        raise InvalidCertificateError(
            f"the certificate has unsupported critical extensions {unknown}")
    try:
        constraints = extensions.get_extension_for_class(x509.BasicConstraints).value
        if constraints.ca:
            raise InvalidCertificateError("the certificate is a CA certificate, not a card's")
    except x509.ExtensionNotFound:
        pass  # RFC 5280 §4.2.1.9: absent means not a CA
    try:
        usage = extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound as exc:
        raise InvalidCertificateError(
            "the certificate has no key usage (JPKI requires it)") from exc
    # JPKI profile: signing certificates carry nonRepudiation (and digitalSignature), auth
    # certificates digitalSignature; neither may certify keys.
    needs_commitment = certificate.purpose is Purpose.SIGN
    if (not usage.digital_signature or usage.key_cert_sign
            or (needs_commitment and not usage.content_commitment)):
        raise InvalidCertificateError("the certificate's key usage does not fit a JPKI "
                                      f"{certificate.purpose.value} certificate")


class VerifiedPaths:
    """Validated paths remembered by the certificate's SHA-256 (the whole DER, not its serial)
    and purpose, for one set of trust anchors: parsing and path validation depend only on those
    and on the time, so a hit is the same answer while ``at`` lies within both the certificate's
    and its CA's validity. Outside that window (expired, not yet valid) the full validation runs
    again and raises its error. Revocation is not part of it: the caller still asks at every use.
    Failures are not remembered. The holder makes one per set of anchors (a trust policy
    version) so that changed anchors start empty; at most ``size`` entries, oldest dropped."""

    def __init__(self, size: int = 1024) -> None:  # ~10 KB an entry: ~10 MB at most
        self._size = size
        self._entries: OrderedDict[tuple[bytes, Purpose], tuple[VerifiedCertificate,
                                                                datetime, datetime]] = \
            OrderedDict()
        self._lock = threading.Lock()

    def verify(self, der: bytes, purpose: Purpose, at: datetime,
               validate: Callable[[JpkiCertificate], VerifiedCertificate]) -> VerifiedCertificate:
        """The path of the certificate ``der`` for ``purpose`` at ``at``: remembered, or parsed
        and checked by ``validate`` (which raises a JpkiError)."""
        key = (hashlib.sha256(der).digest(), purpose)
        with self._lock:
            found = self._entries.get(key)
        if found is not None:
            verified, start, end = found
            if start <= at <= end:
                return replace(verified, checked_at=at)
        verified = validate(parse_certificate(der))
        ca = verified.anchor.certificate
        window = (max(verified.certificate.not_before, ca.not_valid_before_utc),
                  min(verified.certificate.not_after, ca.not_valid_after_utc))
        with self._lock:
            self._entries[key] = (verified, *window)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return verified
