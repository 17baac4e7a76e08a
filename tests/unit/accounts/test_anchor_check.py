"""The anchor re-check reads the person, the live anchor and the newest auth link in one query;
an unknown revocation status (fail-open) leaves the anchor unverifiable, never current."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from idp import db
from idp.accounts.anchor_check import AnchorChecker, CertAnswer
from idp.accounts.anchor_policy import AnchorState, CertStatus
from idp.accounts.jpki_models import AuthLink, JpkiAnchor
from idp.accounts.models import PrivateId
from idp.errors import IdpError
from idp.jpki.anchors import TrustAnchor
from idp.jpki.certificate import JpkiCertificate
from idp.jpki.errors import StaleCrlError
from idp.jpki.profile import Basic4Info, Purpose, Sex
from idp.jpki.revocation import CertState, CheckedStatus, RevocationChecker, RevocationStatus
from idp.jpki.validation import VerifiedCertificate
from idp.settings import RevocationPolicy
from trust.jlis_sim.issuing import (
    CaGeneration,
    issue_auth_certificate,
    issue_sign_certificate,
    new_ca,
    new_rsa_key,
)

NOW = datetime.now(UTC)
INFO = Basic4Info(name="山田　太郎", birth_date=datetime(1980, 4, 1).date(), sex=Sex.MALE,
                  address="東京都千代田区永田町1-7-1")


@dataclass
class FakeTrust:
    """Every certificate has ``state`` (good unless told); records which ones were asked about."""

    asked: list[tuple[Purpose, int]] = field(default_factory=list)
    state: CertState = CertState.GOOD

    def verify(self, certificate: JpkiCertificate, purpose: Purpose, at: datetime) -> Any:
        self.asked.append((purpose, certificate.serial))
        anchor = TrustAnchor(purpose, certificate.certificate, b"\x01")
        return VerifiedCertificate(certificate, anchor, at)

    def check_now(self, verified: VerifiedCertificate) -> CheckedStatus:
        return CheckedStatus(verified, RevocationStatus(self.state, "crl", verified.checked_at,
                                                        None))


class StaleCrl:
    """A CRL source whose newest CRL is past nextUpdate beyond policy."""

    def status(self, certificate: JpkiCertificate, issuer: object) -> RevocationStatus:
        raise StaleCrlError("the newest CRL available expired")


class FailOpenTrust(FakeTrust):
    """The real revocation checker with ``fail_closed = false`` over a stale CRL."""

    def check_now(self, verified: VerifiedCertificate) -> CheckedStatus:
        policy = RevocationPolicy(method="crl", fail_closed=False)
        return RevocationChecker({p: policy for p in Purpose}, ocsp=None,
                                 crl=StaleCrl()).check(verified)


@pytest.fixture(scope="module")
def issuer() -> tuple[CaGeneration, CaGeneration, rsa.RSAPublicKey]:
    window = (NOW - timedelta(days=30), NOW + timedelta(days=365))
    return (new_ca(Purpose.SIGN, "t", *window), new_ca(Purpose.AUTH, "t", *window),
            new_rsa_key().public_key())


def _sign(issuer: tuple[CaGeneration, CaGeneration, rsa.RSAPublicKey], serial: int) -> bytes:
    return issue_sign_certificate(issuer[0], issuer[2], serial=serial, info=INFO,
                                  prefecture="東京都", city="千代田区", subject_id=f"S{serial}",
                                  not_before=NOW - timedelta(days=1),
                                  not_after=NOW + timedelta(days=30),
                                  urls=None).public_bytes(Encoding.DER)


def _auth(issuer: tuple[CaGeneration, CaGeneration, rsa.RSAPublicKey], serial: int) -> bytes:
    return issue_auth_certificate(issuer[1], issuer[2], serial=serial, subject_id=f"A{serial}",
                                  not_before=NOW - timedelta(days=1),
                                  not_after=NOW + timedelta(days=30),
                                  urls=None).public_bytes(Encoding.DER)


def _anchor(private_id: str, serial: int, der: bytes, superseded_by: str | None) -> JpkiAnchor:
    return JpkiAnchor(private_id=private_id, issuer_dn="CN=t", issuer_key_id="00",
                      serial_hex=f"{serial:x}", certificate=der, state="current",
                      superseded_by=superseded_by)


def test_checks_the_live_anchor_and_the_newest_auth_link_and_records_the_result(
        database_url: str, issuer: tuple[CaGeneration, CaGeneration, rsa.RSAPublicKey]) -> None:
    engine = db.make_engine(database_url)
    sessions = db.make_sessionmaker(engine)
    try:
        with db.transaction(sessions) as session:
            person = PrivateId(state="suspended")
            session.add(person)
            session.flush()
            private_id = person.id
            session.add(_anchor(private_id, 101, _sign(issuer, 101), superseded_by="66"))
            session.add(_anchor(private_id, 102, _sign(issuer, 102), superseded_by=None))
            session.add(AuthLink(serial_hex="c9", private_id=private_id, via="card_login",
                                 certificate=_auth(issuer, 201), linked_at=NOW - timedelta(1)))
            session.add(AuthLink(serial_hex="ca", private_id=private_id, via="card_login",
                                 certificate=_auth(issuer, 202), linked_at=NOW))
        trust = FakeTrust()
        check = AnchorChecker(sessions, trust).check(private_id)
        assert check.state is AnchorState.CURRENT
        assert trust.asked == [(Purpose.SIGN, 102), (Purpose.AUTH, 202)]
        with sessions() as session:
            assert session.get(PrivateId, private_id).state == "active"  # type: ignore[union-attr]
            live = session.get(JpkiAnchor, 2)
            assert live is not None
            assert live.last_checked_at is not None
    finally:
        engine.dispose()


def test_a_closed_person_is_closed_without_asking_and_no_anchor_means_onboard(
        database_url: str, issuer: tuple[CaGeneration, CaGeneration, rsa.RSAPublicKey]) -> None:
    engine = db.make_engine(database_url)
    sessions = db.make_sessionmaker(engine)
    try:
        with db.transaction(sessions) as session:
            closed, bare = PrivateId(state="closed"), PrivateId()
            session.add_all([closed, bare])
            session.flush()
            session.add(_anchor(closed.id, 301, _sign(issuer, 301), superseded_by=None))
            closed_id, bare_id = closed.id, bare.id
        trust = FakeTrust()
        checker = AnchorChecker(sessions, trust)
        assert checker.check(closed_id).state is AnchorState.CLOSED
        unanchored = checker.check(bare_id)
        assert (unanchored.state, unanchored.reason, unanchored.next_step) == (
            AnchorState.UNVERIFIABLE, "no_anchor", "onboard")
        assert checker.check("nobody").reason == "no_anchor"
        assert trust.asked == []
    finally:
        engine.dispose()


def _anchored(sessions: Any, issuer: tuple[CaGeneration, CaGeneration, rsa.RSAPublicKey],
              serial: int) -> str:
    with db.transaction(sessions) as session:
        person = PrivateId()
        session.add(person)
        session.flush()
        session.add(_anchor(person.id, serial, _sign(issuer, serial), superseded_by=None))
        return person.id


@pytest.mark.parametrize("trust", [FakeTrust(state=CertState.UNKNOWN), FailOpenTrust()],
                         ids=["unknown_status", "fail_open_over_a_stale_crl"])
def test_an_unknown_status_under_fail_open_leaves_the_anchor_unverifiable_not_current(
        database_url: str, issuer: tuple[CaGeneration, CaGeneration, rsa.RSAPublicKey],
        trust: FakeTrust) -> None:
    """Fail-open lets the check return UNKNOWN instead of raising; that must not read as good:
    the anchor is recorded as unverifiable, with its reason, and the caller is told so (a
    passkey or card login then gets the reduced level)."""
    engine = db.make_engine(database_url)
    sessions = db.make_sessionmaker(engine)
    try:
        private_id = _anchored(sessions, issuer, 401)
        checker = AnchorChecker(sessions, trust)
        answer = checker.status(_sign(issuer, 401), Purpose.SIGN, NOW)
        assert answer.status is CertStatus.UNKNOWN
        check = checker.check(private_id)
        assert (check.state, check.reason, check.next_step) == (
            AnchorState.UNVERIFIABLE, "status_unknown", None)
        with sessions() as session:
            anchor = session.get(JpkiAnchor, 1)
            assert anchor is not None
            assert (anchor.state, anchor.last_result) == ("unverifiable", "status_unknown")
    finally:
        engine.dispose()


def test_a_card_login_whose_auth_certificate_status_is_unknown_is_unverifiable(
        database_url: str, issuer: tuple[CaGeneration, CaGeneration, rsa.RSAPublicKey]) -> None:
    """The auth certificate a card login presented, cleared only by fail-open, keeps the anchor
    from reading as current even when the signing certificate is good."""
    engine = db.make_engine(database_url)
    sessions = db.make_sessionmaker(engine)
    try:
        private_id = _anchored(sessions, issuer, 501)
        checker = AnchorChecker(sessions, FakeTrust())
        check = checker.check(private_id, auth=CertAnswer(CertStatus.UNKNOWN))
        assert (check.state, check.reason) == (AnchorState.UNVERIFIABLE, "auth_status_unknown")
        assert checker.check(private_id, auth=CertAnswer(CertStatus.GOOD)).state is \
            AnchorState.CURRENT
    finally:
        engine.dispose()


def test_a_recheck_j_lis_cannot_answer_leaves_a_suspended_private_id_suspended(
        database_url: str, issuer: tuple[CaGeneration, CaGeneration, rsa.RSAPublicKey]) -> None:
    """``idp recheck`` during an outage used to record the anchor as unverifiable and turn a
    private ID suspended for a lost card back to active, so its passkeys signed in again."""
    engine = db.make_engine(database_url)
    sessions = db.make_sessionmaker(engine)
    try:
        private_id = _anchored(sessions, issuer, 601)
        with db.transaction(sessions) as session:
            session.get(PrivateId, private_id).state = "suspended"  # type: ignore[union-attr]
        check = AnchorChecker(sessions, FailOpenTrust()).check(private_id)
        assert (check.state, check.reason, check.next_step) == (
            AnchorState.SUSPENDED, "status_unknown", "reissue")
        with pytest.raises(IdpError, match="suspended"):
            check.refuse_inactive()
        with sessions() as session:
            assert session.get(PrivateId, private_id).state == "suspended"  # type: ignore[union-attr]
    finally:
        engine.dispose()


@dataclass
class PerLevelTrust(FakeTrust):
    """Statuses UNKNOWN, and the trust policy's per-level rule: fail closed at IAL2 only."""

    state: CertState = CertState.UNKNOWN
    closed: frozenset[tuple[Purpose, int]] = frozenset({(Purpose.SIGN, 2), (Purpose.AUTH, 2)})

    def fails_closed(self, purpose: Purpose, ial: int) -> bool:
        return (purpose, ial) in self.closed


def test_an_unestablished_status_refuses_a_login_only_at_a_level_that_fails_closed(
        database_url: str, issuer: tuple[CaGeneration, CaGeneration, rsa.RSAPublicKey]) -> None:
    """With fail_closed {ial1: false, ial2: true}: the check is recorded (unverifiable) either
    way; a login asking for IAL2 is refused (424), one asking for IAL1 or for nothing goes on
    degraded; the level asked is read only when it matters."""
    from idp.accounts.errors import FailedClosedAtLevelError

    engine = db.make_engine(database_url)
    sessions = db.make_sessionmaker(engine)
    try:
        private_id = _anchored(sessions, issuer, 601)
        check = AnchorChecker(sessions, PerLevelTrust()).check(private_id)
        assert (check.state, check.reason) == (AnchorState.UNVERIFIABLE, "status_unknown")
        assert (check.refused_at, check.unestablished) == (frozenset({2}), "sign")
        with pytest.raises(FailedClosedAtLevelError) as refused:
            check.refuse_unestablished(lambda: 2)
        assert (refused.value.status, refused.value.code) == (424,
                                                             "revocation_status_unavailable")
        assert (refused.value.purpose, refused.value.ial) == ("sign", 2)
        check.refuse_unestablished(lambda: 1)  # goes on at the reduced level
        check.refuse_unestablished(lambda: None)  # asked for no level: what evidence earns

        good = AnchorChecker(sessions, PerLevelTrust(state=CertState.GOOD)).check(private_id)
        assert good.refused_at == frozenset()
        good.refuse_unestablished(lambda: pytest.fail("not read when every status is known"))

        # A card login's own auth certificate, presented with an unknown status, counts too.
        card = AnchorChecker(sessions, PerLevelTrust(
            state=CertState.GOOD, closed=frozenset({(Purpose.AUTH, 1), (Purpose.AUTH, 2)}))
        ).check(private_id, auth=CertAnswer(CertStatus.UNKNOWN))
        assert (card.refused_at, card.unestablished) == (frozenset({1, 2}), "auth")
        # A trust port that says nothing of levels (a test's fake) refuses nothing.
        assert AnchorChecker(sessions, FakeTrust(state=CertState.UNKNOWN)).check(
            private_id).refused_at == frozenset()
    finally:
        engine.dispose()
