"""What a private ID's anchor state is, decided from what J-LIS says. Pure: no I/O, no database.

The anchor of a private ID is its JPKI signing certificate (seed 004). At every login and in each
change-detection run the IdP asks J-LIS for the status of that certificate and, where it knows
it, of the card's user-authentication certificate; this module turns the two answers into one
:class:`AnchorState` and the step the person must take.

The mapping from revocation reasons to meaning is trust policy. The default follows the J-LIS
CPS as restated in ``domain.md`` (seed 001):

======================  ==========================================================
signing revoked, auth   the 4 info changed (move, marriage) or the certificate was
valid                   renewed: re-issue with the new signing certificate, or
                        refresh the 4 info from J-LIS with the person's consent
both revoked, hold      card reported lost (certificateHold, may be lifted)
both revoked            card lost/returned or moved abroad (cessationOfOperation)
both revoked            death or emigration (affiliationChanged): closed by default
auth revoked, signing   the card is (lost, returned, death): suspended, never
status unknown          closed until the signing certificate's own answer says so
signing CA retired      the trust policy no longer trusts the CA generation that issued
                        the signing certificate: unverifiable (``ca_retired``), re-issue
                        with a certificate of a trusted generation
no status within        unverifiable (identity claims withheld); a private ID
policy                  already suspended stays suspended
======================  ==========================================================
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cryptography.x509 import ReasonFlags


class CertStatus(enum.StrEnum):
    """What the revocation source answered for one certificate."""

    GOOD = "good"
    REVOKED = "revoked"
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # no answer within policy (refused when failing closed, else returned)
    NOT_CHECKED = "not_checked"  # e.g. no linked auth certificate known


class AnchorState(enum.StrEnum):
    """The state of a private ID's anchor, from the person's and the relying party's view."""

    CURRENT = "current"  # identity claims are current
    NEEDS_REISSUE = "needs_reissue"  # works at reduced assurance; identity claims withheld
    UNVERIFIABLE = "unverifiable"  # status unknown beyond policy: fail closed for identity
    SUSPENDED = "suspended"  # passkeys no longer log in; a new card and re-issue restore it
    CLOSED = "closed"  # death (by policy): nothing restores it


@dataclass(frozen=True)
class Observation:
    """J-LIS's answers about one anchor, at one moment."""

    sign: CertStatus
    sign_reason: ReasonFlags | None = None
    auth: CertStatus = CertStatus.NOT_CHECKED
    auth_reason: ReasonFlags | None = None
    # The auth certificate is the one the person has just logged in with (a card login), not
    # only evidence about the card (a passkey sign-in).
    auth_presented: bool = False
    # The private ID is suspended: an earlier check found its card revoked (lost, returned).
    suspended: bool = False
    # The signing certificate's status is unknown because the trust policy retired the CA
    # generation that issued it (not because J-LIS did not answer).
    sign_ca_retired: bool = False


@dataclass(frozen=True)
class Decision:
    state: AnchorState
    reason: str  # stable, for audit logs, events and the interaction JSON
    next_step: str | None  # the action the person is led to: "reissue", "refresh_4info", ...


@dataclass(frozen=True)
class Rule:
    reason: str
    description: str
    applies: Callable[[Observation, AnchorPolicy], bool]
    decision: Callable[[Observation, AnchorPolicy], Decision]


@dataclass(frozen=True)
class AnchorPolicy:
    """Trust policy: what a card-level revocation reason means for the private ID."""

    # Reason of the auth certificate (or, when it was not checked, the signing one) when both
    # are revoked → state. Death and emigration both appear as affiliationChanged (seed 001);
    # the default treats it as final, as the CPS requires a new card in both cases.
    card_revocation: Mapping[ReasonFlags, AnchorState] = field(default_factory=lambda: {
        ReasonFlags.certificate_hold: AnchorState.SUSPENDED,
        ReasonFlags.cessation_of_operation: AnchorState.SUSPENDED,
        ReasonFlags.key_compromise: AnchorState.SUSPENDED,
        ReasonFlags.affiliation_changed: AnchorState.CLOSED,
    })
    # Reasons that, on the signing certificate alone, mean "the card is fine, the 4 info or the
    # certificate changed".
    reissue_reasons: frozenset[ReasonFlags] = frozenset(
        {ReasonFlags.affiliation_changed, ReasonFlags.superseded, ReasonFlags.unspecified})

    def state_for_card_revocation(self, reason: ReasonFlags | None) -> AnchorState:
        return self.card_revocation.get(reason or ReasonFlags.unspecified, AnchorState.SUSPENDED)


DEFAULT_POLICY = AnchorPolicy()


def _both_revoked(o: Observation) -> bool:
    return o.sign is CertStatus.REVOKED and o.auth is CertStatus.REVOKED


def _card_decision(reason: ReasonFlags | None, p: AnchorPolicy) -> Decision:
    """The card itself is revoked for ``reason``: suspended until re-issue, or closed."""
    state = p.state_for_card_revocation(reason)
    step = None if state is AnchorState.CLOSED else "reissue"
    return Decision(state, f"card_revoked:{(reason or ReasonFlags.unspecified).name}", step)


def _card_level_sign_revocation(o: Observation, p: AnchorPolicy) -> bool:
    """Signing revoked for a card-level reason, and the auth certificate cannot say otherwise."""
    return (o.sign is CertStatus.REVOKED and o.auth is not CertStatus.GOOD
            and (o.sign_reason or ReasonFlags.unspecified) not in p.reissue_reasons)


def _not_known(o: Observation, reason: str) -> Decision:
    """J-LIS gave no status within policy: unverifiable, identity claims withheld. Not knowing is
    no news, so a private ID an earlier check suspended (its card lost or returned) stays
    suspended: an outage never re-activates a lost card's passkeys."""
    if o.suspended:
        return Decision(AnchorState.SUSPENDED, reason, "reissue")
    return Decision(AnchorState.UNVERIFIABLE, reason, None)


def _card_level_auth_revocation(o: Observation, p: AnchorPolicy) -> bool:
    """No status for the signing certificate, but J-LIS says the card's auth certificate is
    revoked for a card-level reason: J-LIS revokes it only with the card (lost, returned, death;
    a renewal's ``superseded`` is not card-level)."""
    return (o.sign is CertStatus.UNKNOWN and o.auth is CertStatus.REVOKED
            and (o.auth_reason or ReasonFlags.unspecified) in p.card_revocation)


RULES: tuple[Rule, ...] = (
    Rule("auth_card_level", "The signing certificate's status is unknown, but the auth "
         "certificate is revoked for a card-level reason: the card is lost or returned, so the "
         "private ID is suspended (never closed on this alone: that waits for the signing "
         "certificate's own answer).",
         _card_level_auth_revocation,
         lambda o, p: Decision(AnchorState.SUSPENDED,
                               f"card_revoked:{(o.auth_reason or ReasonFlags.unspecified).name}",
                               "reissue")),
    Rule("sign_ca_retired", "The trust policy retired the CA generation that issued the signing "
         "certificate: its status is not asked; the person re-issues with a certificate of a "
         "trusted generation (a suspended private ID stays suspended).",
         lambda o, p: o.sign is CertStatus.UNKNOWN and o.sign_ca_retired,
         lambda o, p: Decision(AnchorState.SUSPENDED if o.suspended
                               else AnchorState.UNVERIFIABLE, "ca_retired", "reissue")),
    Rule("sign_unknown", "J-LIS did not answer for the signing certificate within policy (a "
         "suspended private ID stays suspended).",
         lambda o, p: o.sign is CertStatus.UNKNOWN,
         lambda o, p: _not_known(o, "status_unknown")),
    Rule("card_revoked", "Both certificates of the card are revoked.",
         lambda o, p: _both_revoked(o), lambda o, p: _card_decision(o.auth_reason, p)),
    Rule("sign_card_level", "The signing certificate is revoked for a card-level reason (hold, "
         "card returned) and the auth certificate does not show the card still valid.",
         _card_level_sign_revocation, lambda o, p: _card_decision(o.sign_reason, p)),
    Rule("sign_revoked", "The signing certificate was revoked while the card stays valid: the 4 "
         "info or the certificate changed.",
         lambda o, p: o.sign is CertStatus.REVOKED,
         lambda o, p: Decision(AnchorState.NEEDS_REISSUE,
                               f"sign_revoked:{(o.sign_reason or ReasonFlags.unspecified).name}",
                               "reissue")),
    Rule("sign_expired", "The signing certificate has expired (about five years after issue).",
         lambda o, p: o.sign is CertStatus.EXPIRED,
         lambda o, p: Decision(AnchorState.NEEDS_REISSUE, "sign_expired", "reissue")),
    Rule("auth_unknown", "The auth certificate the person logged in with has no status within "
         "policy (only fail-open let the login through): it goes on at the reduced level (a "
         "suspended private ID stays suspended).",
         lambda o, p: o.auth_presented and o.auth is CertStatus.UNKNOWN,
         lambda o, p: _not_known(o, "auth_status_unknown")),
)


def decide(observation: Observation, policy: AnchorPolicy = DEFAULT_POLICY) -> Decision:
    """The anchor state for ``observation``: the first rule that applies, else current."""
    for rule in RULES:
        if rule.applies(observation, policy):
            return rule.decision(observation, policy)
    return Decision(AnchorState.CURRENT, "sign_good", None)
