"""The verifier services beyond status: serial links, latest 4 info and the age check.

- sign↔auth link: the two certificates of one card are linked 1:1 inside J-LIS;
- old→new link (新旧シリアル番号紐付け): only with the holder's recorded consent;
- latest 4 info (最新の基本4情報の提供, 2021 law change): only with a consent the person signed
  with their *current* signing key over the card request protocol's consent text;
- age check: yes/no plus the certificate's validity, never the birth date.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import date
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy.orm import Session

from idp.jpki.profile import Medium, Purpose, age_on, encode_birth_date
from trust.jlis_sim import residents
from trust.jlis_sim.errors import (
    BadRequestError,
    ConsentRequiredError,
    ForbiddenError,
    UnknownCertificateError,
)
from trust.jlis_sim.models import CertificateRecord
from trust.jlis_sim.store import Sim, from_db


def certificate(session: Session, serial: str, purpose: Purpose | None = None) -> CertificateRecord:
    record = session.get(CertificateRecord, serial.lower().removeprefix("0x"))
    if record is None or (purpose is not None and record.purpose != purpose.value):
        raise UnknownCertificateError(f"no {purpose.value + ' ' if purpose else ''}certificate "
                                 f"with serial {serial}")
    return record


def pair(session: Session, record: CertificateRecord) -> dict[str, str | None]:
    """The signing certificate now issued on the card this certificate belongs to (None if none:
    under 15, or revoked without re-issue) and that card's auth certificate."""
    person = residents.get(session, record.person_id)
    medium, card_no = Medium(record.medium), record.card_no
    sign = residents.current(session, person, Purpose.SIGN, medium, card_no)
    auth = (residents.current(session, person, Purpose.AUTH, medium, card_no)
            or residents.latest(session, person, Purpose.AUTH, medium, card_no))
    return {"sign_serial": sign.serial if sign else None,
            "auth_serial": auth.serial if auth else None}


def previous(session: Session, record: CertificateRecord) -> dict[str, Any]:
    """The serials this certificate replaced, newest first — only with the holder's consent."""
    if not residents.get(session, record.person_id).link_consent:
        raise ConsentRequiredError("the holder has not consented to old→new serial linking")
    serials: list[str] = []
    current = record
    while current.previous_serial is not None:
        serials.append(current.previous_serial)
        current = certificate(session, current.previous_serial)
    return {"serial": record.serial, "previous_serials": serials}


def basic4(sim: Sim, session: Session, record: CertificateRecord,
           consent: dict[str, Any]) -> dict[str, Any]:
    """The person's latest 4 info, if the consent is signed with their current signing key."""
    consent_cert = _check_consent(sim, session, record, consent)
    person = residents.get(session, record.person_id)
    return {"serial": consent_cert.serial, "as_of": sim.now().isoformat(),
            "basic4": {"name": person.name, "name_substitutes": person.name_substitutes,
                       "birth_date": encode_birth_date(person.birth_date),
                       "sex": str(person.sex), "address": person.address,
                       "address_substitutes": person.address_substitutes}}


def _check_consent(sim: Sim, session: Session, record: CertificateRecord,
                   consent: dict[str, Any]) -> CertificateRecord:
    try:
        der = base64.b64decode(consent["certificate"], validate=True)
        to_be_signed = base64.urlsafe_b64decode(_padded(consent["to_be_signed"]))
        signature = base64.b64decode(consent["signature"], validate=True)
        text = str(consent["consent_text"])
        cert = x509.load_der_x509_certificate(der)
    except (KeyError, TypeError, ValueError, binascii.Error) as error:
        raise BadRequestError(f"consent must carry certificate, to_be_signed, consent_text and "
                         f"signature: {error}") from error
    held = session.get(CertificateRecord, format(cert.serial_number, "x"))
    if held is None or held.der != der or held.purpose != Purpose.SIGN.value:
        raise ForbiddenError("the consent certificate is not a signing certificate we issued")
    if held.person_id != record.person_id:
        raise ForbiddenError("the consent was signed by someone else")
    if held.status != "valid" or from_db(held.not_after) < sim.now():
        raise ForbiddenError("the consent certificate is not the holder's current, valid one")
    public_key = cert.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)  # noqa: S101  (JPKI keys are RSA)
    try:
        public_key.verify(signature, to_be_signed, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as error:
        raise ForbiddenError("the consent signature does not verify") from error
    last_line = to_be_signed.decode("utf-8", "replace").rsplit("\n", 1)[-1]
    if last_line != hashlib.sha256(text.encode("utf-8")).hexdigest():
        raise ForbiddenError("the signed consent is for another consent text")
    return held


def age(sim: Sim, session: Session, serial: str, purpose: Purpose, years: int,
        on: date) -> dict[str, Any]:
    """``{"over": bool | None, "certificate_status": "valid" | "invalid" | "unknown"}``."""
    record = session.get(CertificateRecord, serial.lower())
    if record is None or record.purpose != purpose.value:
        return {"over": None, "certificate_status": "unknown"}
    person = residents.get(session, record.person_id)
    valid = record.status == "valid" and from_db(record.not_after) >= sim.now()
    return {"over": age_on(person.birth_date, on) >= years,
            "certificate_status": "valid" if valid else "invalid"}


def _padded(text: str) -> str:
    return text + "=" * (-len(text) % 4)
