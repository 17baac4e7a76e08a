"""Revocation status of JPKI certificates: CRL index, OCSP, and the per-purpose policy."""

from idp.jpki.revocation.checker import CheckedStatus, RevocationChecker
from idp.jpki.revocation.crl import CrlFetcher, CrlSource, build_index
from idp.jpki.revocation.crl_index import CrlIndex
from idp.jpki.revocation.ocsp import OcspSource, OcspTransport
from idp.jpki.revocation.status import (
    CertState,
    Clock,
    FixedClock,
    RevocationSource,
    RevocationStatus,
    SystemClock,
)

__all__ = [
    "CertState", "CheckedStatus", "Clock", "CrlFetcher", "CrlIndex", "CrlSource", "FixedClock",
    "OcspSource", "OcspTransport", "RevocationChecker", "RevocationSource", "RevocationStatus",
    "SystemClock", "build_index",
]
