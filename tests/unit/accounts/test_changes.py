"""What a re-check, a re-issue or a refresh changed, as relying parties will hear it: a revoked
or new credential, the identity level, the account's state, the claims; nothing when nothing
changed. The anchor checker hands a change to its sink inside the transaction recording it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from idp import db
from idp.accounts import changes
from idp.accounts.anchor_check import AnchorChecker
from idp.accounts.anchor_policy import AnchorState, Decision
from idp.accounts.changes import Change, Credential
from idp.accounts.jpki_models import JpkiAnchor
from idp.accounts.models import PrivateId
from idp.jpki.errors import CertificateRevokedError, RevocationReason
from idp.jpki.profile import Purpose
from idp.jpki.revocation import CheckedStatus
from idp.jpki.validation import VerifiedCertificate
from tests.unit.accounts.test_anchor_check import FakeTrust, _anchored, issuer
from tests.unit.accounts.test_people_onboard import ca

__all__ = ["ca", "issuer"]  # the CA fixtures of those modules, shared

ANCHOR = Credential("CN=JPKI-SIM sign", "1f")
BASIC4 = {"name": "鈴木　次郎", "birth_date": "1980-02-17", "sex": "1",
          "address": "東京都千代田区永田町1-7-1"}


def _checked(before: str, decision: Decision, person: tuple[str, str] = ("active", "active"),
             before_reason: str | None = "sign_good") -> Change | None:
    return changes.checked("pid_1", anchor=ANCHOR, before=before, before_reason=before_reason,
                           decision=decision, person=person, at=1700000000)


def test_a_newly_revoked_anchor_is_a_revoked_credential_and_a_lower_level() -> None:
    change = _checked("current", Decision(AnchorState.NEEDS_REISSUE,
                                          "sign_revoked:affiliation_changed", "reissue"))
    assert change is not None
    assert (change.revoked, change.ial, change.account, change.initiating_entity) == (
        ANCHOR, (2, 1), None, "policy")


def test_a_card_lost_after_a_move_suspends_the_account_without_revoking_twice() -> None:
    change = _checked("needs_reissue", Decision(
        AnchorState.SUSPENDED, "card_revoked:certificate_hold", "reissue"),
        person=("active", "suspended"), before_reason="sign_revoked:affiliation_changed")
    assert change is not None
    assert (change.revoked, change.ial, change.account) == (None, None, ("active", "suspended"))


def test_a_card_found_again_restores_the_level_and_the_account() -> None:
    change = _checked("suspended", Decision(AnchorState.CURRENT, "sign_good", None),
                      person=("suspended", "active"), before_reason="card_revoked:certificate_hold")
    assert change is not None
    assert (change.revoked, change.ial, change.account) == (None, (1, 2), ("suspended", "active"))


def test_a_re_check_that_changes_nothing_is_no_change() -> None:
    assert _checked("current", Decision(AnchorState.CURRENT, "sign_good", None)) is None


def test_a_re_issue_after_a_move_names_the_new_credential_the_level_and_the_new_address() \
        -> None:
    moved = {**BASIC4, "address": "宮城県仙台市青葉区1-1"}
    change = changes.reanchored("pid_1", before="needs_reissue", after="current",
                                created=ANCHOR, basic4_before=BASIC4, basic4_after=moved,
                                at=1700000000)
    assert change is not None
    assert (change.created, change.ial, change.initiating_entity) == (ANCHOR, (1, 2), "user")
    assert change.claims == {"address": {"formatted": "宮城県仙台市青葉区1-1", "country": "JP"}}


def test_a_refresh_that_finds_the_same_4_info_on_the_same_certificate_is_no_change() -> None:
    assert changes.reanchored("pid_1", before="current", after="current", created=None,
                              basic4_before=BASIC4, basic4_after=BASIC4, at=1) is None


@pytest.mark.parametrize(("action", "expected"), [
    ("disabled", {"account": ("active", "suspended")}),
    ("enabled", {"account": ("suspended", "active")}),
    ("purged", {"purged": True}), ("sessions_revoked", {"sessions_revoked": True})])
def test_an_administrators_action_is_a_change_initiated_by_an_admin(
        action: Any, expected: dict[str, Any]) -> None:
    change = changes.admin_action("pid_1", 5, action=action, reason="court order")
    assert (change.initiating_entity, change.reason) == ("admin", "court order")
    assert all(getattr(change, name) == value for name, value in expected.items())


@dataclass
class Recorder:
    seen: list[tuple[bool, Change]] = field(default_factory=list)

    def record(self, session: Session, found: Sequence[Change]) -> None:
        self.seen.extend((session.in_transaction(), change) for change in found)


@dataclass
class RevokingTrust(FakeTrust):
    """The signing certificate is revoked for ``reason`` once ``revoked`` is set."""

    revoked: bool = False

    def check_now(self, verified: VerifiedCertificate) -> CheckedStatus:
        if self.revoked and verified.purpose is Purpose.SIGN:
            raise CertificateRevokedError(RevocationReason.AFFILIATION_CHANGED, None, "crl")
        return super().check_now(verified)


def test_the_anchor_checker_tells_its_sink_once_when_the_state_changes(
        sessions: sessionmaker[Session], issuer: Any) -> None:
    private_id = _anchored(sessions, issuer, 901)
    trust, sink = RevokingTrust(), Recorder()
    checker = AnchorChecker(sessions, trust, changes=sink)
    checker.check(private_id)
    assert sink.seen == []  # current, as stored
    trust.revoked = True
    assert checker.check(private_id).state is AnchorState.NEEDS_REISSUE
    checker.check(private_id)  # needs_reissue again: nothing new
    [(in_transaction, change)] = sink.seen
    assert in_transaction
    assert (change.private_id, change.ial, change.reason) == (
        private_id, (2, 1), "anchor re-check: sign_revoked:affiliation_changed")
    with sessions() as session:
        anchor = session.query(JpkiAnchor).filter_by(private_id=private_id).one()
        assert change.revoked == Credential(anchor.issuer_dn, anchor.serial_hex)
        assert session.get(PrivateId, private_id).state == "active"  # type: ignore[union-attr]



def test_a_re_issue_and_a_refresh_tell_their_sink_the_new_credential_and_claims(
        sessions: sessionmaker[Session], ca: Any) -> None:
    """A person moves: the re-issue anchors the new certificate (a new credential, the new
    address); the 4-info refresh J-LIS then provides (a new name) changes only the claims."""
    from idp.accounts import people
    from tests.unit.accounts.test_people_onboard import INFO, FakeJlis, _onboard, _signing

    old = _signing(ca, 0x701)
    private_id = str(_onboard(sessions, FakeJlis(), old)["private_id"])
    moved = _signing(ca, 0x702, replace(INFO, address="宮城県仙台市青葉区1-1"))
    sink = Recorder()
    jlis = FakeJlis(previous_serials={("702", Purpose.SIGN): ("701",)})
    with db.transaction(sessions) as session:
        people.reissue(sessions, jlis, private_id, moved, sink)(session)
    [(_, reissued)] = sink.seen
    assert reissued.created == Credential(moved.certificate.issuer_dn, "702")
    assert (reissued.ial, reissued.claims) == (
        None, {"address": {"formatted": "宮城県仙台市青葉区1-1", "country": "JP"}})
    renamed = replace(INFO, name="山田　一郎", address="宮城県仙台市青葉区1-1")
    jlis.provide_basic4 = lambda *_, **__: ("702", renamed)  # type: ignore[method-assign]
    write = people.refresh_basic4(sessions, jlis, private_id, moved, to_be_signed=b"t",
                                  consent_text="c", signature=b"s", changes=sink)
    with db.transaction(sessions) as session:
        write(session)
    refreshed = sink.seen[-1][1]
    assert (refreshed.created, refreshed.ial) == (None, None)
    assert refreshed.claims == {"name": "山田　一郎", "given_name": "一郎"}
