"""What the accounts package needs from the trust core's services and from J-LIS, as Protocols.

``idp.bootstrap.trust`` implements them over the trust anchors, the revocation policy and
the J-LIS verifier client (``idp.jlis``); tests may pass fakes. Keeping J-LIS behind this port
keeps ``accounts`` and ``jlis`` independent layers.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Protocol

from idp.jpki.certificate import JpkiCertificate
from idp.jpki.errors import RevocationReason
from idp.jpki.profile import Basic4Info, Purpose
from idp.jpki.revocation import CheckedStatus
from idp.jpki.validation import VerifiedCertificate


class JlisLinks(Protocol):
    def paired_auth(self, sign_serial: str) -> str | None:
        """The auth serial of the card carrying ``sign_serial`` (None when J-LIS names none)."""
        ...

    def previous(self, serial: str, purpose: Purpose) -> tuple[str, ...]:
        """The serials ``serial`` replaced on renewal, newest first (none without consent)."""
        ...

    def provide_basic4(self, serial: str, *, certificate: bytes, to_be_signed: bytes,
                       consent_text: str, signature: bytes) -> tuple[str, Basic4Info]:
        """(current signing serial, latest 4 info), given the holder's signed consent."""
        ...


class TrustPort(Protocol):
    def verify(self, certificate: JpkiCertificate, purpose: Purpose,
               at: datetime) -> VerifiedCertificate:
        """Path, purpose and validity; raises a JpkiError."""
        ...

    def check_now(self, verified: VerifiedCertificate) -> CheckedStatus:
        """Revocation now under the trust policy; raises a JpkiError."""
        ...

    @property
    def links(self) -> JlisLinks: ...


class RevocationLists(Protocol):
    """The CRLs of the trusted CAs, for re-checking many certificates at once (``idp
    recheck``)."""

    def bulk(self, purpose: Purpose) -> bool:
        """Whether the trust policy lets ``purpose``'s status come from the CRL (``crl`` or
        ``ocsp_then_crl``); with ``ocsp`` alone each certificate is asked about by itself."""
        ...

    def revoked(self, purpose: Purpose, issuer_key_id: bytes,
                serials: Collection[str]) -> Mapping[str, RevocationReason]:
        """Which of ``serials`` (lower-case hex, as anchors store them) the CRL of the CA
        ``issuer_key_id`` lists, and why. Raises
        UnknownIssuerError when no trusted CA has that key id, a RevocationUnavailableError
        when no CRL of it is usable under the trust policy."""
        ...
