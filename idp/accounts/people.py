"""Onboarding, card login, re-issue and the consented 4-info refresh (no Flask, no HTTP).

Each step receives a certificate the trust core verified (path, purpose, validity, signature
and revocation now) and decides which private ID it belongs to, asking J-LIS for the links
between a card's certificates: ``/v1/links/pair`` (the sign and auth certificates of one card)
and ``/v1/links/previous`` (新旧シリアル番号紐付け: what a renewed certificate replaced).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm import Session

from idp.accounts import anchors, terms
from idp.accounts.errors import NotSamePersonError, UnknownCardError
from idp.accounts.jpki_models import AuthLink
from idp.accounts.ports import JlisLinks
from idp.accounts.terms import Agreement
from idp.jpki.profile import Purpose
from idp.jpki.validation import VerifiedCertificate


def onboard(db: Session, jlis: JlisLinks, verified: VerifiedCertificate,
            agreement: Agreement | None) -> dict[str, Any]:
    """The private ID of this signing certificate's holder, created on first sight.

    Refused unless the person agreed to the current terms and the J-LIS link first (the link is
    asked only then); the agreement is recorded with its version and time, also when the person
    lands on a private ID they already have. The same person never gets two (issue 5): the same
    anchor lands on its private ID; a new signing certificate J-LIS links to a card already
    known (its pair, or the old→new serial links after a renewal) lands there too, recorded as
    a re-issue. J-LIS errors propagate: no private ID is created on a link J-LIS could not give.
    """
    agreed = terms.required(agreement)
    serial = verified.certificate.serial_hex
    known = anchors.anchor_by_serial(db, serial)
    if known is not None:
        _record_agreement(db, known.private_id, agreed)
        return {"private_id": known.private_id, "created": False}
    auth_serial = jlis.paired_auth(serial)
    private_id = next(_linked_holders(db, jlis, serial, auth_serial), None)
    created = private_id is None
    if private_id is None:
        private_id = anchors.new_person(db).id
    anchors.add_anchor(db, private_id, verified)
    if auth_serial:
        anchors.link_auth(db, private_id, auth_serial, via="jlis_pair")
    _record_agreement(db, private_id, agreed)
    return {"private_id": private_id, "created": created}


def _record_agreement(db: Session, private_id: str, agreed: Agreement) -> None:
    """The terms and the J-LIS link (pair and old→new serial links), as agreed in one step.

    Once per version: agreeing again to terms the person already accepted (onboarding a second
    time) adds nothing, and the record keeps when they first agreed; a new version is recorded.
    """
    for kind in ("terms", "jlis_link"):
        if not anchors.has_consent(db, private_id, kind, agreed.version):
            anchors.consent(db, private_id, kind, agreed.version, at=agreed.agreed_at)


def card_login(db: Session, jlis: JlisLinks, verified: VerifiedCertificate) -> dict[str, Any]:
    """The private ID of this auth certificate: directly, or through the serials it replaced
    after a renewal (the new serial is then recorded)."""
    certificate = verified.certificate
    link = db.get(AuthLink, certificate.serial_hex)
    if link is not None:
        anchors.link_auth(db, link.private_id, certificate.serial_hex, via=link.via,
                          certificate=certificate)
        return {"private_id": link.private_id}
    for old_link in _replaced_auth_links(db, jlis, certificate.serial_hex):
        anchors.link_auth(db, old_link.private_id, certificate.serial_hex,
                          via="jlis_previous", certificate=certificate)
        return {"private_id": old_link.private_id, "renewed_from": old_link.serial_hex}
    raise UnknownCardError()


def reissue(db: Session, jlis: JlisLinks, private_id: str,
            verified: VerifiedCertificate) -> dict[str, Any]:
    """Anchor ``private_id`` to its holder's new signing certificate; the 4-info history keeps
    both versions. Refused unless J-LIS links the certificate to this person."""
    serial = verified.certificate.serial_hex
    known = anchors.anchor_by_serial(db, serial)
    if known is not None:
        if known.private_id != private_id:
            raise NotSamePersonError()
        return {"private_id": private_id, "reissued": False}
    if not _same_person(db, jlis, private_id, serial):
        raise NotSamePersonError()
    anchors.add_anchor(db, private_id, verified)
    return {"private_id": private_id, "reissued": True}


def refresh_basic4(db: Session, jlis: JlisLinks, private_id: str,
                   verified: VerifiedCertificate, *, to_be_signed: bytes, consent_text: str,
                   signature: bytes) -> dict[str, Any]:
    """With the holder's signed consent, J-LIS provides the latest 4 info for the old anchor;
    J-LIS itself checks the consent certificate is that person's current one, so the account
    is re-anchored to it and its 4 info recorded as provided by J-LIS."""
    old = anchors.live_anchor(db, private_id)
    if old is None:
        raise NotSamePersonError("the account has no anchor to refresh")
    serial, basic4 = jlis.provide_basic4(
        old.serial_hex, certificate=verified.certificate.der, to_be_signed=to_be_signed,
        consent_text=consent_text, signature=signature)
    if serial != verified.certificate.serial_hex:
        raise NotSamePersonError("J-LIS names another current signing certificate")
    if anchors.anchor_by_serial(db, serial) is None:
        anchors.add_anchor(db, private_id, verified)
    anchors.record_basic4(db, private_id, basic4, source="jlis_provision",
                          anchor_serial=serial)
    anchors.consent(db, private_id, "basic4_refresh",
                    hashlib.sha256(consent_text.encode()).hexdigest())
    return {"private_id": private_id, "refreshed": True}


def _same_person(db: Session, jlis: JlisLinks, private_id: str, sign_serial: str) -> bool:
    holders = _linked_holders(db, jlis, sign_serial, jlis.paired_auth(sign_serial))
    return any(holder == private_id for holder in holders)


def _linked_holders(db: Session, jlis: JlisLinks, sign_serial: str,
                    auth_serial: str | None) -> Iterator[str]:
    """The known private IDs J-LIS links a new signing certificate to, most direct first: its
    card's auth certificate (pair link), then the certificates its card replaced on renewal
    (新旧シリアル番号紐付け: the signing serials it replaced, then those of its auth serial, as
    card login follows them). Lazy: J-LIS is asked only until a holder is found."""
    if auth_serial:
        link = db.get(AuthLink, auth_serial)
        if link is not None:
            yield link.private_id
    for old in jlis.previous(sign_serial, Purpose.SIGN):
        anchor = anchors.anchor_by_serial(db, old)
        if anchor is not None:
            yield anchor.private_id
    if auth_serial:
        yield from (link.private_id for link in _replaced_auth_links(db, jlis, auth_serial))


def _replaced_auth_links(db: Session, jlis: JlisLinks, auth_serial: str) -> Iterator[AuthLink]:
    """The known auth links of the certificates ``auth_serial`` replaced on renewal, as J-LIS
    lists them (newest first); lazy, as J-LIS is asked once per walk."""
    for old in jlis.previous(auth_serial, Purpose.AUTH):
        link = db.get(AuthLink, old)
        if link is not None:
            yield link
