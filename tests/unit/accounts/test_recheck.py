"""``idp recheck`` decides every anchor at once from the CRLs, with the outcome a login's re-check
would have: the same states and reasons, the changes handed to the sink, the auth certificate
asked about only where it matters, OCSP-only policies and unknown CAs left to the one-by-one
check, and an unusable CRL read as unknown (never good)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from idp import db
from idp.accounts.anchor_check import AnchorChecker
from idp.accounts.changes import Change
from idp.accounts.jpki_models import AuthLink, JpkiAnchor
from idp.accounts.models import PrivateId
from idp.accounts.recheck import Recheck
from idp.jpki.anchors import TrustAnchor
from idp.jpki.certificate import JpkiCertificate, parse_certificate
from idp.jpki.errors import (
    CertificateExpiredError,
    CertificateRevokedError,
    CrlUnavailableError,
    RevocationReason,
    UnknownIssuerError,
)
from idp.jpki.profile import Purpose
from idp.jpki.revocation import CertState, CheckedStatus, RevocationStatus
from idp.jpki.validation import VerifiedCertificate
from tests.unit.accounts.test_anchor_check import INFO, issuer
from trust.jlis_sim.issuing import issue_auth_certificate, issue_sign_certificate

__all__ = ["issuer"]
NOW = datetime.now(UTC)
MOVED, LOST = RevocationReason.AFFILIATION_CHANGED, RevocationReason.CERTIFICATE_HOLD


@dataclass
class World:
    """J-LIS as both a login (TrustPort) and a batch (RevocationLists) see it."""

    revoked: dict[tuple[Purpose, int], RevocationReason] = field(default_factory=dict)
    bulk_purposes: frozenset[Purpose] = frozenset(Purpose)
    crl_down: bool = False
    asked: list[tuple[Purpose, int]] = field(default_factory=list)  # batch CRL questions

    def verify(self, certificate: JpkiCertificate, purpose: Purpose,
               at: datetime) -> VerifiedCertificate:
        if certificate.not_after < at:
            raise CertificateExpiredError()
        return VerifiedCertificate(certificate, TrustAnchor(purpose, certificate.certificate,
                                                            b"\x01"), at)

    def check_now(self, verified: VerifiedCertificate) -> CheckedStatus:
        reason = self.revoked.get((verified.purpose, verified.certificate.serial))
        if reason is not None:
            raise CertificateRevokedError(reason, None, "crl")
        return CheckedStatus(verified, RevocationStatus(CertState.GOOD, "crl", NOW, None))

    def bulk(self, purpose: Purpose) -> bool:
        return purpose in self.bulk_purposes

    def revoked_serials(self, purpose: Purpose, issuer_key_id: bytes,
                        serials: Collection[str]) -> Mapping[str, RevocationReason]:
        if issuer_key_id == b"\xde\xad":
            raise UnknownIssuerError("no such CA")
        if self.crl_down:
            raise CrlUnavailableError("no CRL")
        self.asked.extend((purpose, int(serial, 16)) for serial in serials)
        return {s: self.revoked[(purpose, int(s, 16))] for s in serials
                if (purpose, int(s, 16)) in self.revoked}


class Lists:
    """``World`` through the RevocationLists port (``revoked`` is also World's table)."""

    def __init__(self, world: World) -> None:
        self.world = world

    def bulk(self, purpose: Purpose) -> bool:
        return self.world.bulk(purpose)

    def revoked(self, purpose: Purpose, issuer_key_id: bytes,
                serials: Collection[str]) -> Mapping[str, RevocationReason]:
        return self.world.revoked_serials(purpose, issuer_key_id, serials)


@dataclass
class Recorder:
    seen: list[Change] = field(default_factory=list)

    def record(self, session: Session, found: Sequence[Change]) -> None:
        assert session.in_transaction()
        self.seen.extend(found)


def _person(sessions: sessionmaker[Session], issuer: Any, serial: int, *, key_id: str = "aa",
            expired: bool = False, auth: bool = True) -> str:
    not_after = NOW - timedelta(days=1) if expired else NOW + timedelta(days=30)
    sign = issue_sign_certificate(issuer[0], issuer[2], serial=serial, info=INFO,
                                  prefecture="東京都", city="千代田区", subject_id=f"S{serial}",
                                  not_before=NOW - timedelta(days=60), not_after=not_after,
                                  urls=None)
    with db.transaction(sessions) as session:
        person = PrivateId()
        session.add(person)
        session.flush()
        session.add(JpkiAnchor(private_id=person.id, issuer_dn="CN=t", issuer_key_id=key_id,
                               serial_hex=f"{serial:x}", state="current", last_result="sign_good",
                               certificate=sign.public_bytes(Encoding.DER),
                               not_after=int(not_after.timestamp())))
        if auth:
            certificate = parse_certificate(issue_auth_certificate(
                issuer[1], issuer[2], serial=serial + 1, subject_id=f"A{serial}",
                not_before=NOW - timedelta(days=60), not_after=NOW + timedelta(days=30),
                urls=None).public_bytes(Encoding.DER))
            session.add(AuthLink(serial_hex=certificate.serial_hex, private_id=person.id,
                                 via="card_login", certificate=certificate.der,
                                 issuer_key_id="bb",
                                 not_after=int(certificate.not_after.timestamp())))
        return person.id


def _states(sessions: sessionmaker[Session]) -> dict[str, tuple[str, str | None, str]]:
    with sessions() as session:
        rows = session.execute(select(JpkiAnchor.private_id, JpkiAnchor.state,
                                      JpkiAnchor.last_result, PrivateId.state)
                               .join(PrivateId)).all()
    return {pid: (state, reason, person) for pid, state, reason, person in rows}


def test_the_batch_decides_as_the_login_check_would_for_every_kind_of_change(
        sessions: sessionmaker[Session], issuer: Any) -> None:
    world = World()
    people = {
        "unchanged": _person(sessions, issuer, 0x100),
        "moved": _person(sessions, issuer, 0x200),
        "lost": _person(sessions, issuer, 0x300),
        "moved_no_auth_known": _person(sessions, issuer, 0x400, auth=False),
        "expired": _person(sessions, issuer, 0x500, expired=True)}
    world.revoked.update({(Purpose.SIGN, 0x200): MOVED, (Purpose.SIGN, 0x300): LOST,
                          (Purpose.AUTH, 0x301): LOST, (Purpose.SIGN, 0x400): MOVED})
    sink = Recorder()
    report = Recheck(sessions, Lists(world), AnchorChecker(sessions, world), sink).run()
    batch = _states(sessions)
    assert batch[people["moved"]] == ("needs_reissue", "sign_revoked:affiliation_changed",
                                      "active")
    assert batch[people["lost"]] == ("suspended", "card_revoked:certificate_hold", "suspended")
    assert batch[people["expired"]][:2] == ("needs_reissue", "sign_expired")
    assert report.checked == 5
    assert report.states == {"current": 1, "needs_reissue": 3, "suspended": 1}
    assert sorted(c["private_id"] for c in report.changes) == sorted(
        v for k, v in people.items() if k != "unchanged")
    assert {c.private_id for c in sink.seen} == {c["private_id"] for c in report.changes}
    # the auth certificates asked about in the batch: only those of revoked signing ones
    assert sorted(s for p, s in world.asked if p is Purpose.AUTH) == [0x201, 0x301]
    with db.transaction(sessions) as session:  # the same world, person by person
        session.execute(update(JpkiAnchor).values(state="current", last_result=None))
        session.execute(update(PrivateId).values(state="active"))
    checker = AnchorChecker(sessions, world)
    for private_id in people.values():
        checker.check(private_id)
    assert _states(sessions) == batch


def test_an_unusable_crl_makes_the_anchors_unverifiable_never_current(
        sessions: sessionmaker[Session], issuer: Any) -> None:
    private_id = _person(sessions, issuer, 0x600)
    world = World(crl_down=True)
    report = Recheck(sessions, Lists(world), AnchorChecker(sessions, world)).run()
    assert _states(sessions)[private_id] == ("unverifiable", "status_unknown", "active")
    assert report.changes == [{"private_id": private_id, "from": "current",
                               "to": "unverifiable", "reason": "status_unknown"}]


@pytest.mark.parametrize("world", [World(bulk_purposes=frozenset()), World()],
                         ids=["ocsp_only_policy", "unknown_ca_key_id"])
def test_what_the_batch_cannot_decide_is_checked_one_by_one(
        sessions: sessionmaker[Session], issuer: Any, world: World) -> None:
    private_id = _person(sessions, issuer, 0x700, key_id="dead")
    world.revoked[(Purpose.SIGN, 0x700)] = MOVED
    checked: list[str] = []

    class Checker(AnchorChecker):
        def check(self, private_id: str, **kwargs: Any) -> Any:
            checked.append(private_id)
            return super().check(private_id, **kwargs)

    report = Recheck(sessions, Lists(world), Checker(sessions, world)).run()
    assert checked == [private_id]
    assert world.asked == []
    assert report.changes[0]["to"] == "needs_reissue"


def test_due_skips_anchors_checked_since_the_cutoff_by_a_due_run_or_a_full_one(
        sessions: sessionmaker[Session], issuer: Any) -> None:
    _person(sessions, issuer, 0x800)
    world = World()
    recheck = Recheck(sessions, Lists(world), AnchorChecker(sessions, world))
    hour_ago = NOW - timedelta(hours=1)
    assert recheck.run(cutoff=hour_ago).checked == 1  # never checked
    assert recheck.run(cutoff=hour_ago).checked == 0  # stamped by that run
    _person(sessions, issuer, 0x900)
    assert recheck.run().checked == 2
    assert recheck.run(cutoff=datetime.now(UTC) - timedelta(seconds=1)).checked == 0
    assert recheck.run(cutoff=datetime.now(UTC) + timedelta(seconds=1)).checked == 2


def test_the_anchors_of_closed_private_ids_are_left_alone(
        sessions: sessionmaker[Session], issuer: Any) -> None:
    """Closed is final (as for AnchorChecker): not re-checked, not counted, never reopened."""
    alive, dead = _person(sessions, issuer, 0xa00), _person(sessions, issuer, 0xb00)
    with db.transaction(sessions) as session:
        session.execute(update(PrivateId).where(PrivateId.id == dead).values(state="closed"))
        session.execute(update(JpkiAnchor).where(JpkiAnchor.private_id == dead).values(
            state="closed", last_result="card_revoked:affiliation_changed"))
    world = World()  # the dead person's certificates are not (or no longer) listed
    report = Recheck(sessions, Lists(world), AnchorChecker(sessions, world)).run()
    assert (report.checked, report.changes) == (1, [])
    assert _states(sessions)[dead] == ("closed", "card_revoked:affiliation_changed", "closed")
    assert _states(sessions)[alive][0] == "current"


def test_the_account_overview_counts_a_full_run_as_the_live_anchors_last_check(
        sessions: sessionmaker[Session], issuer: Any) -> None:
    from idp.accounts import overview

    private_id = _person(sessions, issuer, 0xc00)
    world = World()
    before = datetime.now(UTC)
    Recheck(sessions, Lists(world), AnchorChecker(sessions, world)).run()
    [live] = overview.overview(sessions, private_id).anchors
    assert live.last_checked_at is not None
    assert live.last_checked_at >= before - timedelta(seconds=1)
