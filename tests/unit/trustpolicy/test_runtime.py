"""The trust services of a trust policy version (``idp.bootstrap.trust``): retired generations
refused with ``ca_retired``, the media levels, the reason mapping's two readings, and the
version followed at most every ``policy_check_seconds``."""

from __future__ import annotations

import pytest
from cryptography.x509 import ReasonFlags
from sqlalchemy.orm import Session, sessionmaker

from idp.accounts.anchor_policy import AnchorState, CertStatus, Observation, decide
from idp.bootstrap.trust import LazyTrust, reasons_of
from idp.jpki.certificate import parse_certificate
from idp.jpki.errors import RetiredCaError, UnknownIssuerError
from idp.jpki.profile import Purpose
from idp.settings import Settings
from idp.trustpolicy.service import TrustPolicyService
from tests.support import jpki_pki as pki

SIGNING = parse_certificate(pki.der(pki.sign_cert()))
OTHER = parse_certificate(pki.der(pki.sign_cert(pki.ca(Purpose.SIGN, "2031"))))


def test_a_retired_generation_is_refused_as_retired_and_enabled_again(
        instance: Settings, sessions: sessionmaker[Session]) -> None:
    policy = TrustPolicyService(sessions, instance)
    trust = LazyTrust(instance, policy, check_seconds=3600)
    assert trust.verify(SIGNING, Purpose.SIGN, pki.NOW).anchor.purpose is Purpose.SIGN
    policy.retire(purpose="sign", generation="2023", actor="cli:t")  # this process: at once
    with pytest.raises(RetiredCaError, match="no longer trusted") as refused:
        trust.verify(SIGNING, Purpose.SIGN, pki.NOW)
    assert (refused.value.code, refused.value.status) == ("ca_retired", 403)
    with pytest.raises(UnknownIssuerError) as unknown:  # never trusted: not "retired"
        trust.verify(OTHER, Purpose.SIGN, pki.NOW)
    assert unknown.value.code == "unknown_ca"
    policy.enable(purpose="sign", generation="2023", actor="cli:t")
    assert trust.verify(SIGNING, Purpose.SIGN, pki.NOW).anchor.purpose is Purpose.SIGN


def test_another_process_change_is_seen_after_the_check_interval(
        instance: Settings, sessions: sessionmaker[Session]) -> None:
    here = LazyTrust(instance, TrustPolicyService(sessions, instance), check_seconds=3600)
    elsewhere = TrustPolicyService(sessions, instance)  # another worker's service
    assert here.get().policies[Purpose.AUTH].max_crl_staleness_seconds == 60
    elsewhere.set("revocation.auth.max_crl_staleness_seconds", 900, actor="admin:1")
    assert here.get().policies[Purpose.AUTH].max_crl_staleness_seconds == 60  # not asked yet
    here.expire()  # the interval has passed
    assert here.get().policies[Purpose.AUTH].max_crl_staleness_seconds == 900
    assert here.get().version == 2


def test_media_levels_follow_the_anchor_medium(
        instance: Settings, sessions: sessionmaker[Session]) -> None:
    policy = TrustPolicyService(sessions, instance)
    trust = LazyTrust(instance, policy, check_seconds=0)
    verified = trust.verify(SIGNING, Purpose.SIGN, pki.NOW)
    assert trust.max_ial(verified) == 2
    policy.set("media.card.max_ial", 1, actor="cli:t")
    assert trust.max_ial(trust.verify(SIGNING, Purpose.SIGN, pki.NOW)) == 1
    policy.set("media.smartphone.max_ial", 1, actor="cli:t")
    policy.set("media.card.max_ial", 2, actor="cli:t")
    assert trust.max_ial(trust.verify(SIGNING, Purpose.SIGN, pki.NOW)) == 2


def test_the_two_readings_of_affiliation_changed(
        instance: Settings, sessions: sessionmaker[Session]) -> None:
    """The signing certificate revoked for affiliationChanged, the auth certificate's status
    unknown: the CPS reads a change of the 4 info (re-issue), seed 001 death or emigration."""
    policy = TrustPolicyService(sessions, instance)
    seen = Observation(CertStatus.REVOKED, ReasonFlags.affiliation_changed, CertStatus.UNKNOWN)
    cps = reasons_of(policy.current().policy)
    assert decide(seen, cps).state is AnchorState.NEEDS_REISSUE
    seed001 = reasons_of(policy.set("reasons", "seed001", actor="cli:t").policy)
    assert decide(seen, seed001).state is AnchorState.CLOSED
    assert policy.current().policy.reasons.reading == "seed001"
    back = policy.set("reasons", "cps", actor="cli:t")
    assert back.policy.reasons == policy.version(1).policy.reasons
    state = policy.set("reasons.card_revocation.affiliationChanged", "suspended", actor="cli:t")
    assert decide(Observation(CertStatus.REVOKED, ReasonFlags.affiliation_changed,
                              CertStatus.REVOKED, ReasonFlags.affiliation_changed),
                  reasons_of(state.policy)).state is AnchorState.SUSPENDED


def test_an_anchor_of_a_retired_generation_is_unverifiable_for_that_reason() -> None:
    retired = Observation(CertStatus.UNKNOWN, sign_ca_retired=True)
    decision = decide(retired)
    assert (decision.state, decision.reason, decision.next_step) == (
        AnchorState.UNVERIFIABLE, "ca_retired", "reissue")
    suspended = decide(Observation(CertStatus.UNKNOWN, sign_ca_retired=True, suspended=True))
    assert suspended.state is AnchorState.SUSPENDED  # a lost card's stays suspended
    assert decide(Observation(CertStatus.UNKNOWN)).reason == "status_unknown"
