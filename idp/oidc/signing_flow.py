"""Where a ``jpki_signature`` request stands in its interaction, and what the grant returns.

An authorization request with a document (signing_details.py) gets no code until the person
signed exactly that document with their card in this interaction: the card request of purpose
``sign`` was accepted (card_answers: certificate, signature over ``to_be_signed``, revocation
now, the signed-in person's certificate) and the browser continued it once. The grant then
carries the RFC 9396 ``authorization_details`` the token response returns (tokens.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.accounts.card_answers import STATUS_FIELD
from idp.accounts.jpki_models import CardRequestRow
from idp.oidc.authorize import AuthorizationRequest
from idp.oidc.errors import OidcError
from idp.oidc.signing_details import TYPE

GRANT_FIELD = "authorization_details"  # in the grant's claims JSON


class InteractionRequiredError(OidcError):
    """The document must be shown to the person and signed: prompt=none cannot do that."""

    code = "interaction_required"  # OIDC Core §3.1.2.6


def details(db: Session, request: AuthorizationRequest, uid: str | None,
            private_id: str) -> list[dict[str, Any]] | None:
    """The signed ``authorization_details`` of interaction ``uid`` for ``private_id``, or None
    while the document is unsigned (or there is none: see ``pending``)."""
    if request.document is None or uid is None:
        return None
    row = db.scalars(select(CardRequestRow).where(
        CardRequestRow.interaction_uid == uid, CardRequestRow.purpose == "sign",
        CardRequestRow.outcome == "accepted", CardRequestRow.continued.is_(True))
        .order_by(CardRequestRow.created_at.desc())).first()
    signed = row.result if row is not None else None
    if not signed or signed.get("private_id") != private_id or \
            signed.get("document") != request.document:
        return None
    return [{"type": TYPE, "document": signed["document"],
             "to_be_signed": signed["to_be_signed"], "signature": signed["signature"],
             "certificate": signed["certificate"], "signed_at": signed["signed_at"],
             "status": signed.get(STATUS_FIELD, "unknown")}]


def pending(db: Session, request: AuthorizationRequest, uid: str | None,
            private_id: str) -> bool:
    """True while the request's document still waits for the person's signature."""
    return request.document is not None and details(db, request, uid, private_id) is None


def with_details(db: Session, request: AuthorizationRequest, uid: str | None, private_id: str,
                 claims: dict[str, Any]) -> dict[str, Any]:
    """A grant's claims JSON, with the signed ``authorization_details`` when there are some."""
    signed = details(db, request, uid, private_id)
    return {**claims, GRANT_FIELD: signed} if signed else claims
