"""The step of a card request of purpose ``sign``: the signed-in person signed the document.

By the time this step runs, the answer's checks (card_answers) have found the certificate a
JPKI signing certificate chaining to a trusted J-LIS CA, its signature over this request's
``to_be_signed`` (whose last line is the SHA-256 of the document's text) valid, and J-LIS not
reporting it revoked (a revoked one is refused there, ``certificate_revoked``). Here: the
certificate must be the signed-in person's (their anchor, or one J-LIS links to their card),
else anyone's card could sign for them. The result keeps what the relying party needs to
verify the signature alone: the exact signed bytes, the signature, the certificate, when.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from idp.accounts import card_requests, people
from idp.accounts.errors import NotSamePersonError
from idp.accounts.jpki_models import CardRequestRow
from idp.accounts.ports import TrustPort
from idp.jpki.validation import VerifiedCertificate

if TYPE_CHECKING:
    from idp.accounts.card_answers import Answer, Step


def sign_step(trust: TrustPort) -> Step:
    def sign(reads: people.Reads, row: CardRequestRow, verified: VerifiedCertificate,
             answer: Answer, issuer: str) -> people.Write:
        if row.private_id is None or row.document is None:
            raise NotSamePersonError("this signing request belongs to no signed-in person")
        if not people.holds(reads, trust.links, row.private_id,
                            verified.certificate.serial_hex):
            raise NotSamePersonError(
                "this signing certificate is not the signed-in person's: sign with your own card")
        signed = signed_result(row, verified.certificate.der, answer.signature, issuer)
        return lambda db: signed  # nothing to write but the request's own result

    return sign


def signed_result(row: CardRequestRow, certificate: bytes, signature: bytes,
                  issuer: str) -> dict[str, Any]:
    """The signature as the token response returns it (its ``status`` is added by the caller,
    from the revocation check it made)."""
    at = row.answered_at or datetime.now(UTC)
    tbs = card_requests.to_be_signed(row, issuer)
    return {"private_id": row.private_id, "document": row.document,
            "to_be_signed": base64.urlsafe_b64encode(tbs).decode().rstrip("="),
            "signature": base64.b64encode(signature).decode(),
            "certificate": base64.b64encode(certificate).decode(),
            "signed_at": (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat()}
