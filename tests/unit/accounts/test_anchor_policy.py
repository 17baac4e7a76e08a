"""The anchor state follows what J-LIS says about the signing and auth certificates."""

from __future__ import annotations

import pytest
from cryptography.x509 import ReasonFlags

from idp.accounts.anchor_policy import (
    AnchorPolicy,
    AnchorState,
    CertStatus,
    Observation,
    decide,
)

R = ReasonFlags
GOOD, REVOKED = CertStatus.GOOD, CertStatus.REVOKED


def test_a_good_signing_certificate_keeps_the_anchor_current() -> None:
    decision = decide(Observation(sign=GOOD, auth=GOOD))
    assert decision.state is AnchorState.CURRENT
    assert decision.next_step is None


@pytest.mark.parametrize("reason", [R.affiliation_changed, R.superseded])
def test_signing_revoked_with_the_card_still_valid_asks_for_reissue(reason: ReasonFlags) -> None:
    """Moved, renamed or renewed: the person is alive and holds the card (domain.md)."""
    decision = decide(Observation(sign=REVOKED, sign_reason=reason, auth=GOOD))
    assert decision.state is AnchorState.NEEDS_REISSUE
    assert decision.next_step == "reissue"
    assert decision.reason == f"sign_revoked:{reason.name}"


def test_a_lost_card_suspends_the_private_id_until_reissue() -> None:
    decision = decide(Observation(sign=REVOKED, sign_reason=R.certificate_hold,
                                  auth=REVOKED, auth_reason=R.certificate_hold))
    assert decision.state is AnchorState.SUSPENDED
    assert decision.next_step == "reissue"


def test_a_card_returned_or_not_found_suspends() -> None:
    decision = decide(Observation(sign=REVOKED, sign_reason=R.cessation_of_operation,
                                  auth=REVOKED, auth_reason=R.cessation_of_operation))
    assert decision.state is AnchorState.SUSPENDED


def test_death_closes_the_private_id_by_default_policy() -> None:
    decision = decide(Observation(sign=REVOKED, sign_reason=R.affiliation_changed,
                                  auth=REVOKED, auth_reason=R.affiliation_changed))
    assert decision.state is AnchorState.CLOSED
    assert decision.next_step is None


def test_the_meaning_of_a_reason_is_trust_policy() -> None:
    lenient = AnchorPolicy(card_revocation={R.affiliation_changed: AnchorState.SUSPENDED})
    decision = decide(Observation(sign=REVOKED, sign_reason=R.affiliation_changed,
                                  auth=REVOKED, auth_reason=R.affiliation_changed), lenient)
    assert decision.state is AnchorState.SUSPENDED


def test_a_hold_on_the_signing_certificate_alone_suspends_when_auth_is_not_known() -> None:
    decision = decide(Observation(sign=REVOKED, sign_reason=R.certificate_hold))
    assert decision.state is AnchorState.SUSPENDED
    assert decision.reason == "card_revoked:certificate_hold"


def test_affiliation_changed_without_auth_status_is_treated_as_a_4_info_change() -> None:
    """Without the auth answer, a move and a death look alike; re-issue will tell them apart."""
    decision = decide(Observation(sign=REVOKED, sign_reason=R.affiliation_changed))
    assert decision.state is AnchorState.NEEDS_REISSUE


def test_unknown_status_fails_closed_for_identity() -> None:
    decision = decide(Observation(sign=CertStatus.UNKNOWN, auth=GOOD))
    assert decision.state is AnchorState.UNVERIFIABLE


def test_an_expired_signing_certificate_asks_for_reissue() -> None:
    decision = decide(Observation(sign=CertStatus.EXPIRED, auth=GOOD))
    assert decision.state is AnchorState.NEEDS_REISSUE
    assert decision.reason == "sign_expired"


def test_an_auth_certificate_a_card_login_presented_of_unknown_status_is_unverifiable() -> None:
    """Fail-open may let the card login through, at the reduced level; on a passkey sign-in the
    auth certificate is only evidence about the card, and its unknown status changes nothing."""
    presented = decide(Observation(sign=GOOD, auth=CertStatus.UNKNOWN, auth_presented=True))
    assert (presented.state, presented.reason) == (AnchorState.UNVERIFIABLE, "auth_status_unknown")
    assert decide(Observation(sign=GOOD, auth=CertStatus.UNKNOWN)).state is AnchorState.CURRENT
    reissue = decide(Observation(sign=REVOKED, sign_reason=R.superseded,
                                 auth=CertStatus.UNKNOWN, auth_presented=True))
    assert reissue.state is AnchorState.NEEDS_REISSUE  # the more useful answer stands


@pytest.mark.parametrize(("observation", "reason"), [
    (Observation(sign=CertStatus.UNKNOWN, auth=CertStatus.UNKNOWN, suspended=True),
     "status_unknown"),
    (Observation(sign=GOOD, auth=CertStatus.UNKNOWN, auth_presented=True, suspended=True),
     "auth_status_unknown"),
], ids=["recheck_during_an_outage", "fail_open_card_login"])
def test_not_knowing_never_lifts_a_suspension(observation: Observation, reason: str) -> None:
    """A private ID suspended for a lost card stays suspended while J-LIS cannot say more (an
    outage, a stale CRL): unverifiable would re-activate its passkeys."""
    decision = decide(observation)
    assert (decision.state, decision.reason, decision.next_step) == (
        AnchorState.SUSPENDED, reason, "reissue")


def test_a_suspended_private_id_whose_card_j_lis_says_is_valid_again_is_current() -> None:
    """The hold lifted (card found): J-LIS's answer, not an outage, restores it."""
    decision = decide(Observation(sign=GOOD, auth=GOOD, suspended=True))
    assert decision.state is AnchorState.CURRENT


@pytest.mark.parametrize("reason", [R.certificate_hold, R.cessation_of_operation,
                                    R.affiliation_changed])
def test_an_auth_certificate_revoked_with_the_card_suspends_when_signing_is_unknown(
        reason: ReasonFlags) -> None:
    """J-LIS says the card is lost (or returned, or its holder died) through the auth
    certificate while the signing certificate's status cannot be had (a sign-only outage): the
    passkeys stop, rather than signing in at ial1-aal2. Never closed on this alone."""
    decision = decide(Observation(sign=CertStatus.UNKNOWN, auth=REVOKED, auth_reason=reason))
    assert (decision.state, decision.reason, decision.next_step) == (
        AnchorState.SUSPENDED, f"card_revoked:{reason.name}", "reissue")


def test_an_auth_certificate_superseded_by_a_renewal_is_no_card_level_news() -> None:
    decision = decide(Observation(sign=CertStatus.UNKNOWN, auth=REVOKED,
                                  auth_reason=R.superseded))
    assert (decision.state, decision.reason) == (AnchorState.UNVERIFIABLE, "status_unknown")
