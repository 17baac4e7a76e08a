"""The revocation policy per purpose: which source answers and what an answer must be.

``ocsp`` asks the responder; ``crl`` looks the serial up in the issuing CA generation's CRL
index; ``ocsp_then_crl`` asks OCSP and falls back to the CRL only when OCSP is unavailable (never
when OCSP answered "revoked" or "unknown"). An "unknown" status — or no status at all — is
refused when the policy fails closed (the default, and the only sane production setting); with
``fail_closed = false`` it is returned as UNKNOWN for the caller to weigh (e.g. a lower acr).
A source's own limits (OCSP age, CRL staleness) are those of the purpose it serves: give one
source per purpose when the purposes' policies differ.

What a stale CRL (past nextUpdate + ``max_crl_staleness_seconds``), a missing CRL or an OCSP
outage means, end to end:

=======================  ====================================================================
policy                   outcome
=======================  ====================================================================
fail_closed = true       refused here (``StaleCrlError``/``RevocationUnavailableError``, 424):
                         a card answer is refused with that message; at a passkey sign-in the
                         anchor re-check (``idp.accounts.anchor_check``) records the sign
                         status as unknown, the anchor reads ``unverifiable`` and the login is
                         at the reduced level (``idp.assurance.evidence``: ial1)
fail_closed = false      returned as UNKNOWN, never as GOOD: the card answer goes on, the anchor
                         reads ``unverifiable`` (reason ``status_unknown``), the session gets the
                         reduced level, and the reason is shown on the interaction's JSON face
=======================  ====================================================================

The per-purpose matrix (OCSP down, CRL stale, CRL missing, J-LIS slow × policy) is in
docs/operations.md, "J-LIS outages".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from idp.jpki.errors import (
    CertificateRevokedError,
    OcspUnavailableError,
    RevocationReason,
    RevocationUnavailableError,
    StatusUnknownError,
)
from idp.jpki.profile import Purpose
from idp.jpki.revocation.status import CertState, RevocationSource, RevocationStatus
from idp.jpki.validation import VerifiedCertificate
from idp.settings import RevocationPolicy

# One source for every purpose, or one per purpose (each with that purpose's limits).
Sources = RevocationSource | Mapping[Purpose, RevocationSource] | None


@dataclass(frozen=True, slots=True)
class CheckedStatus:
    """A verified certificate together with the revocation status that cleared it."""

    verified: VerifiedCertificate
    status: RevocationStatus


class RevocationChecker:
    """Applies the trust policy's revocation method per certificate purpose."""

    def __init__(self, policies: Mapping[Purpose, RevocationPolicy], *,
                 ocsp: Sources, crl: Sources) -> None:
        self._policies = dict(policies)
        self._ocsp = _per_purpose(ocsp, policies)
        self._crl = _per_purpose(crl, policies)

    def check(self, verified: VerifiedCertificate) -> CheckedStatus:
        """Return the status if the certificate may be used; raise CertificateRevokedError or a
        RevocationUnavailableError subclass otherwise."""
        policy = self._policies[verified.purpose]
        try:
            status = self._ask(policy, verified)
        except RevocationUnavailableError as exc:
            if policy.fail_closed:
                raise
            status = RevocationStatus(CertState.UNKNOWN, f"none ({exc.code})",
                                      verified.checked_at, None)
        if status.state is CertState.REVOKED:
            reason = status.reason or RevocationReason.UNSPECIFIED
            raise CertificateRevokedError(reason, status.revoked_at, status.source)
        if status.state is CertState.UNKNOWN and policy.fail_closed:
            unknown = StatusUnknownError(
                f"J-LIS ({status.source}) does not know certificate "
                f"{verified.certificate.serial_hex}; it may be too new or not issued by J-LIS; "
                "try again later")
            unknown.source = status.source
            raise unknown
        return CheckedStatus(verified, status)

    def _ask(self, policy: RevocationPolicy, verified: VerifiedCertificate) -> RevocationStatus:
        certificate, issuer = verified.certificate, verified.anchor.certificate
        crl = self._crl.get(verified.purpose)
        if policy.method == "crl":
            return _required(crl, "crl").status(certificate, issuer)
        try:
            return _required(self._ocsp.get(verified.purpose), "ocsp").status(certificate, issuer)
        except OcspUnavailableError:
            if policy.method == "ocsp" or crl is None:
                raise
        return crl.status(certificate, issuer)


def _per_purpose(sources: Sources,
                 purposes: Mapping[Purpose, RevocationPolicy]) -> dict[Purpose, RevocationSource]:
    if sources is None:
        return {}
    if isinstance(sources, Mapping):
        return dict(sources)
    return dict.fromkeys(purposes, sources)


def _required(source: RevocationSource | None, name: str) -> RevocationSource:
    if source is None:
        raise RevocationUnavailableError(
            f"the trust policy asks for {name}, which is not configured")
    return source

