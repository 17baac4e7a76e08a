"""Onboarding, card login, re-issue and the consented 4-info refresh (no Flask, no HTTP).

Each step receives a certificate the trust core verified (path, purpose, validity, signature
and revocation now) and decides which private ID it belongs to, asking J-LIS for the links
between a card's certificates: ``/v1/links/pair`` (the sign and auth certificates of one card)
and ``/v1/links/previous`` (新旧シリアル番号紐付け: what a renewed certificate replaced).

No database transaction is held across a J-LIS call (a connection idle in a transaction for up
to ``jlis.timeout_seconds`` holds its locks and snapshot that long). So each step runs in two
phases: it asks J-LIS first, reading our own database only through ``reads`` (sessions of one
read each, closed before J-LIS is asked), and returns a :data:`Write`, the one transaction that
records what J-LIS said; the caller runs it together with the card request's outcome. A write
re-reads what a concurrent answer may have changed since (the anchor of the same certificate).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from idp.accounts import anchors, terms
from idp.accounts.changes import ChangeSink, Credential, reanchored
from idp.accounts.errors import NotSamePersonError, UnknownCardError
from idp.accounts.jpki_models import AuthLink
from idp.accounts.ports import JlisLinks
from idp.accounts.terms import Agreement
from idp.jpki.profile import Basic4Info, Purpose
from idp.jpki.validation import VerifiedCertificate

Write = Callable[[Session], dict[str, Any]]
Reads = sessionmaker[Session]


def onboard(reads: Reads, jlis: JlisLinks, verified: VerifiedCertificate,
            agreement: Agreement | None) -> Write:
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
    known = _anchor_holder(reads, serial)
    if known is not None:
        return lambda db: _landed(db, known, agreed)
    auth_serial = jlis.paired_auth(serial)
    holder = next(_linked_holders(reads, jlis, serial, auth_serial), None)

    def write(db: Session) -> dict[str, Any]:
        again = anchors.anchor_by_serial(db, serial)
        if again is not None:  # a concurrent answer onboarded the same certificate meanwhile
            return _landed(db, again.private_id, agreed)
        private_id = holder or anchors.new_person(db).id
        anchors.add_anchor(db, private_id, verified)
        if auth_serial:
            anchors.link_auth(db, private_id, auth_serial, via="jlis_pair")
        _record_agreement(db, private_id, agreed)
        return {"private_id": private_id, "created": holder is None}

    return write


def _landed(db: Session, private_id: str, agreed: Agreement) -> dict[str, Any]:
    """Onboarding a certificate that already anchors ``private_id``."""
    _record_agreement(db, private_id, agreed)
    return {"private_id": private_id, "created": False}


def _record_agreement(db: Session, private_id: str, agreed: Agreement) -> None:
    """The terms and the J-LIS link (pair and old→new serial links), as agreed in one step.

    Once per version: agreeing again to terms the person already accepted (onboarding a second
    time) adds nothing, and the record keeps when they first agreed; a new version is recorded.
    """
    for kind in ("terms", "jlis_link"):
        if not anchors.has_consent(db, private_id, kind, agreed.version):
            anchors.consent(db, private_id, kind, agreed.version, at=agreed.agreed_at)


def card_login(reads: Reads, jlis: JlisLinks, verified: VerifiedCertificate) -> Write:
    """The private ID of this auth certificate: directly, or through the serials it replaced
    after a renewal (the new serial is then recorded)."""
    certificate = verified.certificate
    serial = certificate.serial_hex
    found = _auth_link(reads, serial)
    renewed: dict[str, Any] = {}
    if found is not None:
        private_id, via = found
    else:
        old = next(_replaced_auth_links(reads, jlis, serial), None)
        if old is None:
            raise UnknownCardError()
        old_serial, private_id = old
        via, renewed = "jlis_previous", {"renewed_from": old_serial}

    def write(db: Session) -> dict[str, Any]:
        anchors.link_auth(db, private_id, serial, via=via, certificate=certificate)
        return {"private_id": private_id, **renewed}

    return write


def reissue(reads: Reads, jlis: JlisLinks, private_id: str, verified: VerifiedCertificate,
            changes: ChangeSink | None = None) -> Write:
    """Anchor ``private_id`` to its holder's new signing certificate; the 4-info history keeps
    both versions. Refused unless J-LIS links the certificate to this person. ``changes`` hears
    what the re-issue changed (a new credential, the level, the claims)."""
    serial = verified.certificate.serial_hex
    known = _anchor_holder(reads, serial)  # J-LIS is asked only about a certificate not known
    if known is None and not _same_person(reads, jlis, private_id, serial):
        raise NotSamePersonError()

    def write(db: Session) -> dict[str, Any]:
        known = anchors.anchor_by_serial(db, serial)
        if known is not None:
            if known.private_id != private_id:
                raise NotSamePersonError()
            return {"private_id": private_id, "reissued": False}
        before = _before(db, private_id)
        anchors.add_anchor(db, private_id, verified)
        basic4 = verified.certificate.basic4
        if basic4 is not None:
            _tell(db, changes, private_id, before, verified, basic4)
        return {"private_id": private_id, "reissued": True}

    return write


def refresh_basic4(reads: Reads, jlis: JlisLinks, private_id: str,
                   verified: VerifiedCertificate, *, to_be_signed: bytes, consent_text: str,
                   signature: bytes, changes: ChangeSink | None = None) -> Write:
    """With the holder's signed consent, J-LIS provides the latest 4 info for the old anchor;
    J-LIS itself checks the consent certificate is that person's current one, so the account
    is re-anchored to it and its 4 info recorded as provided by J-LIS."""
    with reads() as db:
        live = anchors.live_anchor(db, private_id)
        old = live.serial_hex if live is not None else None
    if old is None:
        raise NotSamePersonError("the account has no anchor to refresh")
    serial, basic4 = jlis.provide_basic4(
        old, certificate=verified.certificate.der, to_be_signed=to_be_signed,
        consent_text=consent_text, signature=signature)
    if serial != verified.certificate.serial_hex:
        raise NotSamePersonError("J-LIS names another current signing certificate")

    def write(db: Session) -> dict[str, Any]:
        before = _before(db, private_id)
        created = anchors.anchor_by_serial(db, serial) is None
        if created:
            anchors.add_anchor(db, private_id, verified)
        anchors.record_basic4(db, private_id, basic4, source="jlis_provision",
                              anchor_serial=serial)
        _tell(db, changes, private_id, before, verified if created else None, basic4)
        anchors.consent(db, private_id, "basic4_refresh",
                        hashlib.sha256(consent_text.encode()).hexdigest())
        return {"private_id": private_id, "refreshed": True}

    return write


def _before(db: Session, private_id: str) -> tuple[str | None, dict[str, Any] | None]:
    """The live anchor's state and the current 4 info, before a step changes them."""
    live, record = anchors.live_anchor(db, private_id), anchors.current_basic4(db, private_id)
    return (live.state if live else None), (dict(record.basic4) if record else None)


def _tell(db: Session, changes: ChangeSink | None, private_id: str,
          before: tuple[str | None, dict[str, Any] | None],
          created: VerifiedCertificate | None, basic4: Basic4Info) -> None:
    """Hand ``changes`` what the step did: ``created`` is the new anchor (a new one is
    current), None when the anchor stayed as it was."""
    if changes is None:
        return
    new = created.certificate if created else None
    change = reanchored(
        private_id, before=before[0], after="current" if new else before[0],
        created=Credential(new.issuer_dn, new.serial_hex) if new else None,
        basic4_before=before[1], basic4_after=anchors.basic4_json(basic4), at=int(time.time()))
    if change is not None:
        changes.record(db, [change])


def _same_person(reads: Reads, jlis: JlisLinks, private_id: str, sign_serial: str) -> bool:
    holders = _linked_holders(reads, jlis, sign_serial, jlis.paired_auth(sign_serial))
    return any(holder == private_id for holder in holders)


def _linked_holders(reads: Reads, jlis: JlisLinks, sign_serial: str,
                    auth_serial: str | None) -> Iterator[str]:
    """The known private IDs J-LIS links a new signing certificate to, most direct first: its
    card's auth certificate (pair link), then the certificates its card replaced on renewal
    (新旧シリアル番号紐付け: the signing serials it replaced, then those of its auth serial, as
    card login follows them). Lazy: J-LIS is asked only until a holder is found."""
    if auth_serial:
        link = _auth_link(reads, auth_serial)
        if link is not None:
            yield link[0]
    for old in jlis.previous(sign_serial, Purpose.SIGN):
        holder = _anchor_holder(reads, old)
        if holder is not None:
            yield holder
    if auth_serial:
        for _, private_id in _replaced_auth_links(reads, jlis, auth_serial):
            yield private_id


def _replaced_auth_links(reads: Reads, jlis: JlisLinks,
                         auth_serial: str) -> Iterator[tuple[str, str]]:
    """(serial, private ID) of the known auth links of the certificates ``auth_serial``
    replaced on renewal, as J-LIS lists them (newest first); lazy, as J-LIS is asked once per
    walk."""
    for old in jlis.previous(auth_serial, Purpose.AUTH):
        link = _auth_link(reads, old)
        if link is not None:
            yield old, link[0]


def _anchor_holder(reads: Reads, serial: str) -> str | None:
    """The private ID this signing serial anchors (or anchored), in a read of its own."""
    with reads() as db:
        anchor = anchors.anchor_by_serial(db, serial)
        return anchor.private_id if anchor is not None else None


def _auth_link(reads: Reads, serial: str) -> tuple[str, str] | None:
    """(private ID, via) of this auth serial's link, in a read of its own."""
    with reads() as db:
        link = db.get(AuthLink, serial)
        return (link.private_id, link.via) if link is not None else None


def holds(reads: Reads, jlis: JlisLinks, private_id: str, sign_serial: str) -> bool:
    """Whether the signing certificate ``sign_serial`` is ``private_id``'s: an anchor of that
    account, or one J-LIS links to its card (asked only about a certificate not known)."""
    known = _anchor_holder(reads, sign_serial)
    if known is not None:
        return known == private_id
    return _same_person(reads, jlis, private_id, sign_serial)
