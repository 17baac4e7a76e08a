"""Every refusal of the JPKI trust core: a stable ``code`` and a message a person can act on.

Status codes: 400 for input that is not what the card protocol expects (malformed DER, bad
signature), 422 for a well-formed certificate of the wrong kind, 403 for a certificate the IdP
does not (or no longer) trust. When the revocation status cannot be learnt and policy says fail
closed, the answer is 424 *Failed Dependency* (``revocation_status_unavailable``): still a 4xx the
card app shows ("try again later"), never a 500. ``docs/trust-core.md`` lists them all.
"""

from __future__ import annotations

import enum
from datetime import datetime

from idp.errors import IdpError


class JpkiError(IdpError):
    """The JPKI certificate or signature was refused."""

    code = "jpki_error"
    status = 400


# --- the certificate itself -------------------------------------------------------------------

class MalformedCertificateError(JpkiError):
    """The certificate is not valid DER X.509; read it again from the card."""

    code = "malformed_certificate"
    status = 400


class NotJpkiCertificateError(JpkiError):
    """The certificate carries no JPKI certificate policy; use a My Number Card certificate."""

    code = "not_jpki_certificate"
    status = 422


class WrongPurposeError(JpkiError):
    """The certificate is of the other JPKI kind (signing vs user authentication)."""

    code = "wrong_certificate_type"
    status = 422


class InvalidCertificateError(JpkiError):
    """The certificate breaks the JPKI profile (key usage, basic constraints, extensions)."""

    code = "invalid_certificate"
    status = 422


# --- the path to a trust anchor -------------------------------------------------------------

class UnknownIssuerError(JpkiError):
    """No trusted JPKI CA has the issuer name of this certificate."""

    code = "unknown_ca"
    status = 403


class IssuerKeyMismatchError(UnknownIssuerError):
    """A trusted CA has this issuer name, but none of its generations signed the certificate."""

    code = "issuer_key_mismatch"


class RetiredCaError(UnknownIssuerError):
    """The CA generation that issued this card's certificate is no longer trusted here."""

    code = "ca_retired"


class CertificateExpiredError(JpkiError):
    """The certificate has expired; renew it at the municipal office (市区町村窓口)."""

    code = "certificate_expired"
    status = 403


class CertificateNotYetValidError(JpkiError):
    """The certificate is not valid yet; check the device clock or try again later."""

    code = "certificate_not_yet_valid"
    status = 403


class AnchorExpiredError(CertificateExpiredError):
    """The CA generation that issued the certificate is outside its validity."""

    code = "ca_expired"


# --- signatures -------------------------------------------------------------------------------

class BadSignatureError(JpkiError):
    """The signature was not made with the private key of this certificate."""

    code = "bad_signature"
    status = 400


class WrongDigestError(BadSignatureError):
    """The card signed something else than DigestInfo(SHA-256, SHA-256(to_be_signed))."""

    code = "wrong_digest"


# --- revocation -------------------------------------------------------------------------------

class RevocationReason(enum.StrEnum):
    """CRLReason (RFC 5280 §5.3.1) with what it tells a JPKI verifier (J-LIS, seed 001)."""

    UNSPECIFIED = "unspecified"
    KEY_COMPROMISE = "keyCompromise"
    CA_COMPROMISE = "cACompromise"
    AFFILIATION_CHANGED = "affiliationChanged"  # death, or moved abroad
    SUPERSEDED = "superseded"  # renewed or re-issued, e.g. after a 4-info change
    CESSATION_OF_OPERATION = "cessationOfOperation"  # card lost/returned, or moved abroad
    CERTIFICATE_HOLD = "certificateHold"  # card reported lost (may be lifted)
    REMOVE_FROM_CRL = "removeFromCRL"
    PRIVILEGE_WITHDRAWN = "privilegeWithdrawn"
    AA_COMPROMISE = "aACompromise"

    @property
    def code(self) -> int:
        """The CRLReason enumerated value (7 is unused in RFC 5280)."""
        return _REASON_CODES[self]

    @classmethod
    def from_code(cls, code: int) -> RevocationReason:
        for reason, value in _REASON_CODES.items():
            if value == code:
                return reason
        raise ValueError(f"CRLReason {code} is not defined")


# RFC 5280 §5.3.1 numbers them 0–6 and 8–10 (7 is unused).
_REASON_CODES = {reason: code + (code >= 7) for code, reason in enumerate(RevocationReason)}

_ADVICE = {
    RevocationReason.SUPERSEDED: "the certificate was renewed or re-issued (for a signing "
    "certificate: name, address, birth date or sex changed); use the card's current certificate",
    RevocationReason.AFFILIATION_CHANGED: "the holder died or moved abroad; the certificate "
    "can no longer be used",
    RevocationReason.CESSATION_OF_OPERATION: "the card was returned, stopped or its holder "
    "moved abroad; apply for a new card at the municipal office",
    RevocationReason.CERTIFICATE_HOLD: "the card was reported lost; if found, have the "
    "suspension lifted at the municipal office",
    RevocationReason.KEY_COMPROMISE: "the card's key was reported compromised; apply for a "
    "new certificate",
}


class CertificateRevokedError(JpkiError):
    """J-LIS revoked the certificate."""

    code = "certificate_revoked"
    status = 403

    def __init__(self, reason: RevocationReason, revoked_at: datetime | None,
                 source: str) -> None:
        self.reason = reason
        self.revoked_at = revoked_at
        self.source = source
        when = f" on {revoked_at:%Y-%m-%d %H:%M} UTC" if revoked_at else ""
        advice = _ADVICE.get(reason, "apply for a new certificate at the municipal office")
        super().__init__(f"the certificate was revoked{when} ({reason.value}, per {source}): "
                         f"{advice}")

    def to_dict(self) -> dict[str, str]:
        return {**super().to_dict(), "revocation_reason": self.reason.value}


class RevocationUnavailableError(JpkiError):
    """The revocation status could not be established; try again in a few minutes."""

    code = "revocation_status_unavailable"
    status = 424


class StatusUnknownError(RevocationUnavailableError):
    """J-LIS does not know this certificate (OCSP status "unknown")."""

    code = "revocation_status_unknown"


class CrlUnavailableError(RevocationUnavailableError):
    """No fresh, correctly signed CRL of the issuing CA is available."""

    code = "crl_unavailable"


class StaleCrlError(CrlUnavailableError):
    """The CRL is past its nextUpdate beyond what the trust policy allows."""

    code = "crl_stale"


class OcspUnavailableError(RevocationUnavailableError):
    """The OCSP responder did not give a usable, correctly signed answer."""

    code = "ocsp_unavailable"
