"""Answering a card request never holds a database connection, let alone a transaction, while
J-LIS is asked (review 2026-12 §3.4): each purpose's step asks J-LIS first, then writes in the
one transaction that records the outcome. A J-LIS failure leaves nothing written.

The answers are signed with the test PKI's keys and checked by the real trust core (path and
signature); J-LIS is a fake that checks the engine's pool each time it is called.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from idp import db
from idp.accounts import card_requests
from idp.accounts.card_answers import CardAnswers, default_steps
from idp.accounts.jpki_models import AuthLink, Basic4Record, CardRequestRow, JpkiAnchor
from idp.accounts.models import PrivateId
from idp.accounts.terms import TERMS_VERSION, Agreement
from idp.jlis.errors import JlisUnavailableError
from idp.jpki.certificate import JpkiCertificate
from idp.jpki.profile import Basic4Info, Purpose
from idp.jpki.revocation import CertState, CheckedStatus, RevocationStatus
from idp.jpki.validation import VerifiedCertificate, verify_certificate
from tests.support import jpki_pki as pki

ISSUER = "http://idp.test"
SIGN, AUTH = pki.ca(Purpose.SIGN), pki.ca(Purpose.AUTH)
ANCHORS = pki.anchors(SIGN, AUTH)


@dataclass
class Jlis:
    """J-LIS's links as tables; every call first checks that the IdP holds no connection."""

    engine: Engine
    pairs: dict[str, str] = field(default_factory=dict)
    previous_serials: dict[tuple[str, Purpose], tuple[str, ...]] = field(default_factory=dict)
    current: dict[str, str] = field(default_factory=dict)  # old sign serial -> current one
    asked: list[str] = field(default_factory=list)
    down: bool = False

    def _called(self, what: str) -> None:
        self.asked.append(what)
        assert self.engine.pool.checkedout() == 0, f"a connection is held while J-LIS {what}"
        if self.down:
            raise JlisUnavailableError()

    def paired_auth(self, sign_serial: str) -> str | None:
        self._called("pair")
        return self.pairs.get(sign_serial)

    def previous(self, serial: str, purpose: Purpose) -> tuple[str, ...]:
        self._called(f"previous_{purpose.value}")
        return self.previous_serials.get((serial, purpose), ())

    def provide_basic4(self, serial: str, *, certificate: bytes, to_be_signed: bytes,
                       consent_text: str, signature: bytes) -> tuple[str, Basic4Info]:
        self._called("basic4")
        return self.current[serial], pki.HANAKO


@dataclass
class Trust:
    """The trust core's path check over the test PKI; every certificate is good now."""

    links: Jlis

    def verify(self, certificate: JpkiCertificate, purpose: Purpose,
               at: datetime) -> VerifiedCertificate:
        return verify_certificate(certificate, expected_purpose=purpose, anchors=ANCHORS, at=at)

    def check_now(self, verified: VerifiedCertificate) -> CheckedStatus:
        return CheckedStatus(verified, RevocationStatus(CertState.GOOD, "ocsp",
                                                        verified.checked_at, None))


@dataclass
class World:
    sessions: sessionmaker[Session]
    jlis: Jlis
    answers: CardAnswers

    def answer(self, purpose: str, certificate: x509.Certificate, *,
               private_id: str | None = None) -> dict[str, object]:
        """Make a card request for ``purpose`` and answer it with ``certificate``'s key."""
        consent = "4情報の提供に同意します" if purpose == "consent" else None
        with db.transaction(self.sessions) as session:
            row = card_requests.create(session, uid="u", browser="b", purpose=purpose,
                                       private_id=private_id, consent_text=consent,
                                       terms=Agreement(TERMS_VERSION, datetime.now(UTC)))
            session.expunge(row)
        key = pki.key("holder-sign" if certificate.issuer == SIGN.certificate.subject
                      else "holder-auth")
        signature = key.sign(card_requests.to_be_signed(row, ISSUER), padding.PKCS1v15(),
                             hashes.SHA256())
        return self.answers.answer(row.id, {
            "certificate": base64.b64encode(pki.der(certificate)).decode(),
            "signature": base64.b64encode(signature).decode()}, issuer=ISSUER)


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    jlis = Jlis(sessions.kw["bind"])
    trust = Trust(jlis)
    return World(sessions, jlis, CardAnswers(sessions, trust, default_steps(trust)))


def _count(sessions: sessionmaker[Session], model: type[object]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_no_connection_is_held_while_j_lis_is_asked_by_any_purpose(world: World) -> None:
    """Onboarding (pair, renewal links), a renewed card's login (its old auth serial), a
    re-issue (same person by the pair link) and the 4-info refresh (J-LIS provides)."""
    world.jlis.pairs.update({"1001": "2001", "1002": "2001"})
    onboarded = world.answer("onboard", pki.sign_cert(serial=0x1001))
    private_id = str(onboarded["private_id"])
    assert onboarded["created"] is True
    world.jlis.previous_serials[("2002", Purpose.AUTH)] = ("2001",)
    login = world.answer("login", pki.auth_cert(serial=0x2002))
    assert login == {"private_id": private_id, "renewed_from": "2001",
                     "certificate_status": "good"}
    reissued = world.answer("reissue", pki.sign_cert(serial=0x1002), private_id=private_id)
    assert reissued["reissued"] is True
    world.jlis.current["1002"] = "1003"
    refreshed = world.answer("consent", pki.sign_cert(serial=0x1003), private_id=private_id)
    assert refreshed["refreshed"] is True
    assert world.jlis.asked == ["pair", "previous_sign", "previous_auth", "previous_auth",
                                "pair", "basic4"]
    assert _count(world.sessions, PrivateId) == 1
    assert _count(world.sessions, JpkiAnchor) == 3
    assert _count(world.sessions, Basic4Record) == 4


def test_j_lis_down_refuses_the_answer_and_writes_nothing(world: World) -> None:
    world.jlis.down = True
    with pytest.raises(JlisUnavailableError):
        world.answer("onboard", pki.sign_cert(serial=0x1001))
    assert (_count(world.sessions, PrivateId), _count(world.sessions, AuthLink)) == (0, 0)
    with world.sessions() as session:
        row = session.scalars(select(CardRequestRow)).one()
        assert (row.outcome, row.error_code) == ("refused", "jlis_unavailable")
