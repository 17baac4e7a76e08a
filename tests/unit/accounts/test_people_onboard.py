"""Onboarding never makes a second private ID for a person J-LIS links to a known card (issue 5),
also after a renewal: the links are followed with a fake J-LIS port, against the real schema.
J-LIS is asked first; what it said is written in one transaction afterwards."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from idp import db
from idp.accounts import people
from idp.accounts.jpki_models import AuthLink, JpkiAnchor, JpkiConsent
from idp.accounts.models import PrivateId
from idp.accounts.terms import TERMS_VERSION, Agreement
from idp.jlis.errors import JlisUnavailableError
from idp.jpki.anchors import TrustAnchor
from idp.jpki.certificate import parse_certificate
from idp.jpki.profile import Basic4Info, Purpose, Sex
from idp.jpki.validation import VerifiedCertificate
from trust.jlis_sim.issuing import CaGeneration, issue_sign_certificate, new_ca, new_rsa_key

NOW = datetime.now(UTC)
AGREED = Agreement(TERMS_VERSION, NOW)
INFO = Basic4Info(name="山田　太郎", birth_date=datetime(1980, 4, 1).date(), sex=Sex.MALE,
                  address="東京都千代田区永田町1-7-1")


@dataclass
class FakeJlis:
    """J-LIS's pair and old→new serial links, as tables; records what it was asked."""

    pairs: dict[str, str] = field(default_factory=dict)
    previous_serials: dict[tuple[str, Purpose], tuple[str, ...]] = field(default_factory=dict)
    asked: list[tuple[str, str]] = field(default_factory=list)
    down: bool = False

    def paired_auth(self, sign_serial: str) -> str | None:
        self.asked.append(("pair", sign_serial))
        return self.pairs.get(sign_serial)

    def previous(self, serial: str, purpose: Purpose) -> tuple[str, ...]:
        self.asked.append((f"previous_{purpose.name.lower()}", serial))
        if self.down:
            raise JlisUnavailableError()
        return self.previous_serials.get((serial, purpose), ())

    def provide_basic4(self, serial: str, *, certificate: bytes, to_be_signed: bytes,
                       consent_text: str, signature: bytes) -> tuple[str, Basic4Info]:
        raise AssertionError("onboarding never asks for the 4 info")


@pytest.fixture(scope="module")
def ca() -> CaGeneration:
    return new_ca(Purpose.SIGN, "t", NOW - timedelta(days=30), NOW + timedelta(days=365))


def _signing(ca: CaGeneration, serial: int, info: Basic4Info = INFO) -> VerifiedCertificate:
    der = issue_sign_certificate(ca, new_rsa_key().public_key(), serial=serial, info=info,
                                 prefecture="東京都", city="千代田区", subject_id=f"S{serial}",
                                 not_before=NOW - timedelta(days=1),
                                 not_after=NOW + timedelta(days=30),
                                 urls=None).public_bytes(Encoding.DER)
    return VerifiedCertificate(parse_certificate(der), TrustAnchor(Purpose.SIGN, ca.certificate,
                                                              b"\x01"), NOW)


def _onboard(sessions: sessionmaker[Session], jlis: FakeJlis,
             verified: VerifiedCertificate) -> dict[str, object]:
    """Ask J-LIS (no transaction), then write what it said in one."""
    write = people.onboard(sessions, jlis, verified, AGREED)
    with db.transaction(sessions) as session:
        return write(session)


def _people(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(PrivateId)) or 0


def _renewed(sessions: sessionmaker[Session], ca: CaGeneration, jlis: FakeJlis) -> str:
    """A person onboarded with card 1 (sign 0x101, auth 0x201); card 2 carries 0x102/0x202."""
    jlis.pairs.update({"101": "201", "102": "202"})
    first = _onboard(sessions, jlis, _signing(ca, 0x101))
    jlis.asked.clear()
    return str(first["private_id"])


def test_a_renewed_signing_certificate_lands_on_the_private_id_of_the_one_it_replaced(
        sessions: sessionmaker[Session], ca: CaGeneration) -> None:
    jlis = FakeJlis()
    private_id = _renewed(sessions, ca, jlis)
    jlis.previous_serials[("102", Purpose.SIGN)] = ("101",)
    moved = Basic4Info(name=INFO.name, birth_date=INFO.birth_date, sex=INFO.sex,
                       address="大阪府大阪市北区1-1")
    again = _onboard(sessions, jlis, _signing(ca, 0x102, moved))
    assert again == {"private_id": private_id, "created": False}
    assert _people(sessions) == 1
    with sessions() as session:
        assert session.get(AuthLink, "202").private_id == private_id  # type: ignore[union-attr]
        anchors = session.scalars(select(JpkiAnchor).order_by(JpkiAnchor.id)).all()
        assert [(a.serial_hex, a.superseded_by) for a in anchors] == [("101", "102"),
                                                                     ("102", None)]
    assert jlis.asked == [("pair", "102"), ("previous_sign", "102")]


def test_the_renewed_cards_auth_certificate_links_to_the_known_one_when_the_sign_link_is_missing(
        sessions: sessionmaker[Session], ca: CaGeneration) -> None:
    jlis = FakeJlis()
    private_id = _renewed(sessions, ca, jlis)
    jlis.previous_serials[("202", Purpose.AUTH)] = ("201",)
    again = _onboard(sessions, jlis, _signing(ca, 0x102))
    assert again == {"private_id": private_id, "created": False}
    assert _people(sessions) == 1
    assert jlis.asked == [("pair", "102"), ("previous_sign", "102"), ("previous_auth", "202")]
    with sessions() as session:
        kinds = session.scalars(select(JpkiConsent.kind).order_by(JpkiConsent.id)).all()
    assert kinds == ["terms", "jlis_link"]  # agreed once per version, not again


def test_a_card_no_link_names_makes_a_new_private_id(
        sessions: sessionmaker[Session], ca: CaGeneration) -> None:
    jlis = FakeJlis()
    first = _renewed(sessions, ca, jlis)
    other = _onboard(sessions, jlis, _signing(ca, 0x102))
    assert other["created"] is True
    assert other["private_id"] != first
    assert _people(sessions) == 2


def test_onboarding_is_refused_when_jlis_cannot_say_whether_the_card_was_renewed(
        sessions: sessionmaker[Session], ca: CaGeneration) -> None:
    jlis = FakeJlis()
    _renewed(sessions, ca, jlis)
    jlis.down = True
    with pytest.raises(JlisUnavailableError):
        people.onboard(sessions, jlis, _signing(ca, 0x102), AGREED)
    assert _people(sessions) == 1


def test_a_certificate_onboarded_while_jlis_was_asked_lands_on_that_private_id(
        sessions: sessionmaker[Session], ca: CaGeneration) -> None:
    """Two answers with the same new card both ask J-LIS before either writes: the second
    write finds the anchor the first one made and lands on its private ID."""
    jlis = FakeJlis()
    verified = _signing(ca, 0x101)
    first = people.onboard(sessions, jlis, verified, AGREED)
    second = people.onboard(sessions, jlis, verified, AGREED)
    with db.transaction(sessions) as session:
        made = first(session)
    with db.transaction(sessions) as session:
        assert second(session) == {"private_id": made["private_id"], "created": False}
    assert made["created"] is True
    assert _people(sessions) == 1
