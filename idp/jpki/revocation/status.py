"""The values and boundaries of revocation checking: status, source protocol, clock."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from cryptography import x509

from idp.jpki.certificate import JpkiCertificate
from idp.jpki.errors import RevocationReason


class CertState(enum.StrEnum):
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class RevocationStatus:
    """What one source said about one certificate, and how fresh that statement is."""

    state: CertState
    source: str  # "ocsp" or "crl"
    produced_at: datetime  # OCSP thisUpdate, or the CRL's thisUpdate
    next_update: datetime | None
    reason: RevocationReason | None = None
    revoked_at: datetime | None = None

    @property
    def is_good(self) -> bool:
        return self.state is CertState.GOOD


class RevocationSource(Protocol):
    """Answers the revocation status of a certificate issued by ``issuer``.

    Raises :class:`~idp.jpki.errors.RevocationUnavailableError` (or a subclass) when it cannot
    answer with a statement it could verify; never guesses "good".
    """

    def status(self, certificate: JpkiCertificate,
               issuer: x509.Certificate) -> RevocationStatus: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock for tests and replays: returns ``at`` until told otherwise."""

    at: datetime

    def now(self) -> datetime:
        return self.at
