"""Reading and writing the JPKI anchoring of a private ID (no Flask, no network)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from idp.accounts.jpki_models import AuthLink, Basic4Record, JpkiAnchor, JpkiConsent
from idp.accounts.models import PrivateId, utcnow
from idp.db import Base
from idp.jpki.certificate import JpkiCertificate
from idp.jpki.profile import Basic4Info
from idp.jpki.validation import VerifiedCertificate
from idp.prepared import Prepared, defer_on

ANCHORS = Base.metadata.tables[JpkiAnchor.__tablename__]
_CHECKED = Prepared(update(ANCHORS).where(ANCHORS.c.id == bindparam("b_id"))
                    .values(state=bindparam("state"), last_result=bindparam("last_result"),
                            last_checked_at=bindparam("last_checked_at")))


def live_anchor(db: Session, private_id: str) -> JpkiAnchor | None:
    """The newest anchor not superseded by a re-issue."""
    return db.scalars(select(JpkiAnchor).where(
        JpkiAnchor.private_id == private_id, JpkiAnchor.superseded_by.is_(None))
        .order_by(JpkiAnchor.id.desc())).first()


def anchor_by_serial(db: Session, serial_hex: str) -> JpkiAnchor | None:
    return db.scalars(select(JpkiAnchor).where(JpkiAnchor.serial_hex == serial_hex)).first()


def current_basic4(db: Session, private_id: str) -> Basic4Record | None:
    return db.scalars(select(Basic4Record).where(
        Basic4Record.private_id == private_id, Basic4Record.current.is_(True))
        .order_by(Basic4Record.id.desc())).first()


def basic4_json(info: Basic4Info) -> dict[str, str | None]:
    return {"name": info.name, "birth_date": info.birth_date.isoformat() if info.birth_date
            else None, "birth_date_code": info.birth_date_code, "sex": str(int(info.sex)),
            "address": info.address, "name_substitutes": info.name_substitutes,
            "address_substitutes": info.address_substitutes}


def record_basic4(db: Session, private_id: str, info: Basic4Info, *, source: str,
                  anchor_serial: str) -> None:
    """Keep every version: the older ones stay as history, the new one is current."""
    db.execute(update(Basic4Record).where(Basic4Record.private_id == private_id)
               .values(current=False))
    db.add(Basic4Record(private_id=private_id, basic4=basic4_json(info), source=source,
                        anchor_serial=anchor_serial, current=True))


def add_anchor(db: Session, private_id: str, verified: VerifiedCertificate) -> JpkiAnchor:
    """Anchor ``private_id`` to a verified signing certificate, superseding the previous one."""
    certificate = verified.certificate
    db.execute(update(JpkiAnchor).where(JpkiAnchor.private_id == private_id,
                                        JpkiAnchor.superseded_by.is_(None))
               .values(superseded_by=certificate.serial_hex))
    anchor = JpkiAnchor(private_id=private_id, issuer_dn=certificate.issuer_dn,
                        issuer_key_id=verified.anchor.key_id.hex(),
                        serial_hex=certificate.serial_hex, certificate=certificate.der,
                        state="current", last_checked_at=verified.checked_at,
                        last_result="sign_good", not_after=_epoch(certificate.not_after))
    db.add(anchor)
    if certificate.basic4 is not None:
        record_basic4(db, private_id, certificate.basic4, source="certificate",
                      anchor_serial=certificate.serial_hex)
    return anchor


def link_auth(db: Session, private_id: str, serial_hex: str, *, via: str,
              certificate: JpkiCertificate | None = None) -> None:
    link = db.get(AuthLink, serial_hex)
    if link is None:
        link = AuthLink(serial_hex=serial_hex, private_id=private_id, via=via)
        db.add(link)
    if certificate is not None:
        link.certificate, link.issuer_dn = certificate.der, certificate.issuer_dn
        key_id = certificate.authority_key_id
        link.issuer_key_id = key_id.hex() if key_id else None
        link.not_after = _epoch(certificate.not_after)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def consent(db: Session, private_id: str, kind: str, version: str,
            at: datetime | None = None) -> None:
    """Record a consent; ``at`` is when the person gave it (default: now)."""
    db.add(JpkiConsent(private_id=private_id, kind=kind, version=version, at=at or utcnow()))


def has_consent(db: Session, private_id: str, kind: str, version: str) -> bool:
    return db.scalar(select(JpkiConsent.id).where(
        JpkiConsent.private_id == private_id, JpkiConsent.kind == kind,
        JpkiConsent.version == version).limit(1)) is not None


def new_person(db: Session) -> PrivateId:
    person = PrivateId()
    db.add(person)
    db.flush()
    return person


def set_checked(db: Session, anchor_id: int, state: str, reason: str, at: datetime) -> None:
    """Record a re-check's result on the anchor (prepared: every login does it; deferred, it
    goes to the database with the transaction's next statement)."""
    defer_on(db.connection(), _CHECKED, {"b_id": anchor_id, "state": state,
                                           "last_result": reason[:128], "last_checked_at": at})


def now() -> datetime:
    return utcnow()


def anchor_summary(db: Session, private_id: str) -> dict[str, str | None] | None:
    """What the interaction JSON face shows of the anchor (no certificate, no serial)."""
    anchor = live_anchor(db, private_id)
    if anchor is None:
        return None
    checked = anchor.last_checked_at.isoformat() if anchor.last_checked_at else None
    return {"state": anchor.state, "reason": anchor.last_result, "checked_at": checked}
