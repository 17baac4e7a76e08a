"""Residents: registering a person with a new card, reading their state, and the outcome JSON.

Life events live in ``events.py``; this module owns the person record and the card of each medium.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.jpki.profile import Medium, Purpose, Sex
from trust.jlis_sim import address, cards
from trust.jlis_sim.errors import BadRequestError, UnknownPersonError
from trust.jlis_sim.issuance import Issued, card_expiry, issue, may_hold_sign
from trust.jlis_sim.models import CertificateRecord, Person
from trust.jlis_sim.store import Sim, to_db

CURRENT = ("valid", "hold")  # a certificate still on the card and not finally revoked


@dataclass(frozen=True)
class NewResident:
    """What `idp sim person add` needs to know."""

    name: str
    birth_date: date
    sex: int
    address: str
    card_file: Path
    sign_pin: str | None = None
    auth_pin: str | None = None
    phone_file: Path | None = None
    link_consent: bool = True
    ca_label: str | None = None  # issue from an older CA generation (tests of path building)


def normalise_name(name: str) -> str:
    """Family and given name are separated by a full-width space (U+3000) in the certificate."""
    parts = name.split()
    if not parts:
        raise BadRequestError("the name must not be empty")
    return "\u3000".join(parts)


def add(sim: Sim, new: NewResident) -> dict[str, Any]:
    if new.sex not in {s.value for s in Sex}:
        raise BadRequestError("sex must be 1 (male), 2 (female) or 3 (unknown)")
    if new.birth_date > sim.now().date():
        raise BadRequestError("the birth date is in the future")
    pins = {Purpose.SIGN: new.sign_pin, Purpose.AUTH: new.auth_pin}
    for purpose, pin in pins.items():
        if pin is not None:
            cards.check_pin(purpose, pin)
    prefecture, city = address.split(new.address)
    with sim.transaction() as session:
        today = sim.now().date()
        person = Person(
            person_id="p-" + secrets.token_hex(6), name=normalise_name(new.name),
            birth_date=new.birth_date, sex=new.sex, address=address.normalise(new.address),
            prefecture=prefecture, city=city, card_no=1, state="resident",
            card_state="active",
            card_expires=card_expiry(new.birth_date, today),
            card_file=str(new.card_file.resolve()),
            phone_file=str(new.phone_file.resolve()) if new.phone_file else None,
            link_consent=new.link_consent, created_at=to_db(sim.now()))
        session.add(person)
        session.flush()
        for medium in media_of(person):
            issued = issue_medium(sim, session, person, medium, label=new.ca_label)
            cards.write(card_path(person, medium), person.person_id, medium, issued, pins,
                        fresh=True)
        return outcome(session, person)


def issue_medium(sim: Sim, session: Session, person: Person, medium: Medium, *,
                 previous: dict[Purpose, CertificateRecord | None] | None = None,
                 label: str | None = None) -> dict[Purpose, Issued]:
    """Both key pairs of one medium (the signing one only from 15 on)."""
    purposes = [Purpose.AUTH]
    if may_hold_sign(person, sim.now().date()):
        purposes.insert(0, Purpose.SIGN)
    card_no = person.card_no if medium is Medium.CARD else 1
    return {p: issue(sim, session, person, p, medium, card_no=card_no,
                     previous=(previous or {}).get(p), label=label) for p in purposes}


def media_of(person: Person) -> list[Medium]:
    return [Medium.CARD] + ([Medium.PHONE] if person.phone_file else [])


def card_path(person: Person, medium: Medium) -> Path:
    path = person.phone_file if medium is Medium.PHONE else person.card_file
    assert path is not None  # noqa: S101  (media_of only lists media the person holds)
    return Path(path)


def get(session: Session, person_id: str) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise UnknownPersonError(f"no resident {person_id!r} (see `idp sim person add`)")
    return person


def current(session: Session, person: Person, purpose: Purpose,
            medium: Medium, card_no: int | None = None) -> CertificateRecord | None:
    """The certificate of ``purpose`` now on the person's ``medium`` (valid or on hold)."""
    if card_no is None:
        card_no = person.card_no if medium is Medium.CARD else 1
    return session.scalar(
        select(CertificateRecord)
        .where(CertificateRecord.person_id == person.person_id,
               CertificateRecord.purpose == purpose.value,
               CertificateRecord.medium == medium.value,
               CertificateRecord.card_no == card_no,
               CertificateRecord.status.in_(CURRENT))
        .order_by(CertificateRecord.not_before.desc()))


def latest(session: Session, person: Person, purpose: Purpose,
           medium: Medium, card_no: int | None = None) -> CertificateRecord | None:
    """The last certificate of ``purpose`` issued on the person's current ``medium``."""
    if card_no is None:
        card_no = person.card_no if medium is Medium.CARD else 1
    return session.scalar(
        select(CertificateRecord)
        .where(CertificateRecord.person_id == person.person_id,
               CertificateRecord.purpose == purpose.value,
               CertificateRecord.medium == medium.value,
               CertificateRecord.card_no == card_no)
        # The newest is the one nothing replaced yet (serials are random, seconds may tie).
        .order_by(CertificateRecord.replaced_by.is_not(None), CertificateRecord.not_before.desc()))


def outcome(session: Session, person: Person) -> dict[str, Any]:
    """The contract's JSON: ``{"person_id", "card_file", "sign_pin", "auth_pin", "sign_serial",
    "auth_serial"}`` for the card medium (``sign_*`` null when there is no signing key)."""
    card = cards.read(Path(person.card_file))
    sign = current(session, person, Purpose.SIGN, Medium.CARD)
    auth = current(session, person, Purpose.AUTH, Medium.CARD)
    return {"person_id": person.person_id, "card_file": person.card_file,
            "sign_pin": card.sign.pin if card and card.sign and sign else None,
            "auth_pin": card.auth.pin if card and card.auth else None,
            "sign_serial": sign.serial if sign else None,
            "auth_serial": auth.serial if auth else None}
