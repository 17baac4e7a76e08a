"""Issuing one medium's key pairs to a resident: serials, validity, certificates, the card file.

Validity follows JPKI: a certificate runs to the 5th birthday after issue
(発行日後5回目の誕生日まで); the auth certificate is also capped by the card's own expiry (10th
birthday for adults, 5th under 18). Nobody under 15 gets a signing certificate.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.orm import Session

from idp.jpki.profile import Basic4Info, Medium, Purpose, Sex, age_on
from trust.jlis_sim import ca
from trust.jlis_sim.issuing import issue_auth_certificate, issue_sign_certificate, new_rsa_key
from trust.jlis_sim.models import CertificateRecord, Person
from trust.jlis_sim.store import Sim, to_db

SIGN_MIN_AGE = 15  # 署名用電子証明書は15歳未満には原則発行しない
_SERIAL_BITS = 159  # positive and at most 20 octets (RFC 5280 §4.1.2.2)
_END_OF_DAY_JST = time(14, 59, 59)  # 23:59:59 JST, in UTC


def nth_birthday_after(born: date, day: date, n: int) -> date:
    """The ``n``-th birthday strictly after ``day`` (29 February falls on 28 February)."""
    year = day.year + n - 1
    if _birthday_in(born, day.year) <= day:
        year += 1
    return _birthday_in(born, year)


def _birthday_in(born: date, year: int) -> date:
    try:
        return born.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def card_expiry(born: date, issued: date) -> date:
    """The card itself: 10th birthday after issue for adults (18+), 5th for minors."""
    return nth_birthday_after(born, issued, 10 if age_on(born, issued) >= 18 else 5)


def may_hold_sign(person: Person, day: date) -> bool:
    """From 15, and only while registered as a resident (emigration revokes it)."""
    return person.state == "resident" and age_on(person.birth_date, day) >= SIGN_MIN_AGE


def basic4_of(person: Person) -> Basic4Info:
    return Basic4Info(name=person.name, birth_date=person.birth_date, sex=Sex(person.sex),
                      address=person.address, name_substitutes=person.name_substitutes,
                      address_substitutes=person.address_substitutes)


@dataclass(frozen=True)
class Issued:
    """A freshly issued key pair: the record, the certificate, its CA and the private key."""

    record: CertificateRecord
    certificate: x509.Certificate
    ca_certificate: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())


def new_serial(session: Session) -> int:
    while True:
        serial = secrets.randbits(_SERIAL_BITS)
        if serial and session.get(CertificateRecord, format(serial, "x")) is None:
            return serial


def issue(sim: Sim, session: Session, person: Person, purpose: Purpose, medium: Medium, *,
          card_no: int, previous: CertificateRecord | None = None,
          label: str | None = None) -> Issued:
    """Issue one certificate of ``purpose`` on ``medium`` and record it (linked to ``previous``)."""
    now = sim.now()
    authority = ca.current(session, purpose, medium, label)
    key = new_rsa_key()
    serial = new_serial(session)
    not_after = datetime.combine(nth_birthday_after(person.birth_date, now.date(), 5),
                                 _END_OF_DAY_JST, UTC)
    subject_id, urls = secrets.token_hex(10).upper(), authority.urls(sim.base_url)
    if purpose is Purpose.SIGN:
        certificate = issue_sign_certificate(
            authority.generation, key.public_key(), serial=serial, info=basic4_of(person),
            prefecture=person.prefecture, city=person.city, subject_id=subject_id,
            not_before=now, not_after=not_after, urls=urls)
    else:
        cap = datetime.combine(person.card_expires, _END_OF_DAY_JST, UTC)
        certificate = issue_auth_certificate(
            authority.generation, key.public_key(), serial=serial, subject_id=subject_id,
            not_before=now, not_after=min(not_after, cap), urls=urls)
    record = CertificateRecord(
        serial=format(serial, "x"), purpose=purpose.value, medium=medium.value, card_no=card_no,
        ca_id=authority.ca_id, person_id=person.person_id,
        der=certificate.public_bytes(serialization.Encoding.DER),
        not_before=to_db(certificate.not_valid_before_utc),
        not_after=to_db(certificate.not_valid_after_utc), status="valid",
        previous_serial=previous.serial if previous else None)
    session.add(record)
    if previous is not None:
        previous.replaced_by = record.serial
    session.flush()
    return Issued(record, certificate, authority.generation.certificate, key)
