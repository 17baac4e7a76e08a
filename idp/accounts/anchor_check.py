"""Re-checking a private ID's anchor: revocation now, mapped through ``anchor_policy``.

At every login, and in ``idp recheck``, the IdP asks the revocation policy about the anchor
(the signing certificate) and about the card's auth certificate where it holds one, turns the
two answers into an :class:`AnchorState` (``anchor_policy.decide``), records it on the anchor
and moves the private ID to ``suspended``/``closed`` (or back to ``active``) accordingly. No
database transaction is held across the J-LIS calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography.x509 import ReasonFlags
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from idp import db as dbm
from idp.accounts import anchors
from idp.accounts.anchor_policy import (
    DEFAULT_POLICY,
    AnchorPolicy,
    AnchorState,
    CertStatus,
    Observation,
    decide,
)
from idp.accounts.models import PrivateId
from idp.accounts.ports import TrustPort
from idp.jpki.certificate import parse_certificate
from idp.jpki.errors import (
    CertificateExpiredError,
    CertificateRevokedError,
    JpkiError,
    RevocationReason,
)
from idp.jpki.profile import Purpose

_PERSON_STATE = {AnchorState.SUSPENDED: "suspended", AnchorState.CLOSED: "closed"}


@dataclass(frozen=True)
class AnchorCheck:
    private_id: str
    state: AnchorState
    reason: str
    next_step: str | None
    checked_at: datetime


@dataclass(frozen=True)
class CertAnswer:
    status: CertStatus
    reason: ReasonFlags | None = None


def reason_flag(reason: RevocationReason) -> ReasonFlags:
    """jpki's CRLReason and cryptography's share the RFC 5280 names."""
    return ReasonFlags(reason.value)


class AnchorChecker:
    def __init__(self, sessions: sessionmaker[Session], trust: TrustPort,
                 policy: AnchorPolicy = DEFAULT_POLICY) -> None:
        self._sessions = sessions
        self._trust = trust
        self._policy = policy

    def check(self, private_id: str, *, auth: CertAnswer | None = None) -> AnchorCheck:
        """Ask now, decide, record. ``auth``: the auth certificate's status when the caller has
        just checked it (a card login), so it is not asked twice."""
        at = anchors.now()
        with self._sessions() as db:
            person = db.get(PrivateId, private_id)
            anchor = anchors.live_anchor(db, private_id)
            if person is not None and person.state == "closed":
                return AnchorCheck(private_id, AnchorState.CLOSED, "closed", None, at)
            if anchor is None:
                return AnchorCheck(private_id, AnchorState.UNVERIFIABLE, "no_anchor", "onboard",
                                   at)
            anchor_id, sign_der = anchor.id, anchor.certificate
            link = anchors.latest_auth_link(db, private_id)
            auth_der = link.certificate if link is not None else None
        sign = self.status(sign_der, Purpose.SIGN, at)
        if auth is None:
            auth = self.status(auth_der, Purpose.AUTH, at) if auth_der else \
                CertAnswer(CertStatus.NOT_CHECKED)
        decision = decide(Observation(sign.status, sign.reason, auth.status, auth.reason),
                          self._policy)
        with dbm.transaction(self._sessions) as db:
            anchors.set_checked(db, anchor_id, decision.state.value, decision.reason, at)
            _set_person_state(db, private_id, decision.state)
        return AnchorCheck(private_id, decision.state, decision.reason, decision.next_step, at)

    def status(self, der: bytes, purpose: Purpose, at: datetime) -> CertAnswer:
        """One certificate's status under the trust policy; unknown when it cannot be told."""
        trust = self._trust
        try:
            trust.check_now(trust.verify(parse_certificate(der), purpose, at))
        except CertificateExpiredError:
            return CertAnswer(CertStatus.EXPIRED)
        except CertificateRevokedError as revoked:
            return CertAnswer(CertStatus.REVOKED, reason_flag(revoked.reason))
        except JpkiError:
            return CertAnswer(CertStatus.UNKNOWN)  # fail closed: unavailable or untrusted now
        return CertAnswer(CertStatus.GOOD)


def _set_person_state(db: Session, private_id: str, state: AnchorState) -> None:
    """Suspended and closed follow the anchor; any other state (re)activates, except that
    closed is final."""
    target = _PERSON_STATE.get(state, "active")
    db.execute(update(PrivateId).where(PrivateId.id == private_id, PrivateId.state != "closed")
               .values(state=target))
