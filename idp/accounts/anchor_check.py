"""Re-checking a private ID's anchor: revocation now, mapped through ``anchor_policy``.

At every login, and in ``idp recheck``, the IdP asks the revocation policy about the anchor
(the signing certificate) and about the card's auth certificate where it holds one, turns the
two answers into an :class:`AnchorState` (``anchor_policy.decide``), records it on the anchor
and moves the private ID to ``suspended``/``closed`` (or back to ``active``) accordingly. No
database transaction is held across the J-LIS calls. A status the trust policy could not
establish is UNKNOWN, whether the policy refused it (fail closed) or let it through (fail-open):
never good, and it never lifts a suspension (only J-LIS saying the card is valid again does).
A passkey login records the check in its one transaction (``AnchorChecker.asking``); every other
caller in a transaction of the check's own (``check``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple

from cryptography.x509 import ReasonFlags
from sqlalchemy import ColumnElement, Engine, Select, String, and_, bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from idp import db as dbm
from idp.accounts import anchors, changes
from idp.accounts.anchor_policy import (
    DEFAULT_POLICY,
    AnchorPolicy,
    AnchorState,
    CertStatus,
    Decision,
    Observation,
    decide,
)
from idp.accounts.changes import ChangeSink
from idp.accounts.errors import FailedClosedAtLevelError
from idp.accounts.jpki_models import AuthLink, JpkiAnchor
from idp.accounts.models import AccountLock, PrivateId
from idp.accounts.ports import TrustPort
from idp.assurance.evidence import Proofing
from idp.audit import entries as audit
from idp.audit.log import AuditLog
from idp.errors import AccountLockedError, IdpError, account_not_active
from idp.jpki.certificate import parse_certificate
from idp.jpki.errors import (
    CertificateExpiredError,
    CertificateRevokedError,
    JpkiError,
    RetiredCaError,
    RevocationReason,
)
from idp.jpki.profile import Purpose
from idp.jpki.revocation import CertState, CheckedStatus
from idp.jpki.validation import VerifiedCertificate
from idp.metering import Meter
from idp.prepared import Prepared, read_one

_PERSON_STATE = {AnchorState.SUSPENDED: "suspended", AnchorState.CLOSED: "closed"}


@dataclass(frozen=True)
class AnchorCheck:
    private_id: str
    state: AnchorState
    reason: str
    next_step: str | None
    checked_at: datetime
    sign_source: str | None = None  # who answered for the anchor: "ocsp" (now) or "crl"
    max_ial: int = 2  # the trust policy's limit for the anchor CA's medium
    locked: bool = False  # an administrator locked the private ID (idp.admin.accounts)
    # The identity levels at which a login on this check is refused (a status it relies on was
    # not established and the trust policy's per-level ``fail_closed`` says so), and whose.
    refused_at: frozenset[int] = frozenset()
    unestablished: str = ""  # sign or auth
    # Told of the refusal ``refuse_inactive`` raises (AnchorChecker: its audit entry).
    on_refused: Callable[[AnchorCheck, IdpError, str | None], None] | None = field(
        default=None, compare=False, repr=False)

    @property
    def proofing(self) -> Proofing:
        """What this check proves of the person's identity (idp.assurance.evidence): checked now
        when OCSP answered for the anchor during this check, else current by a CRL; never
        proven when the trust policy lets the anchor's medium reach IAL1 only."""
        if self.state is not AnchorState.CURRENT or self.max_ial < 2:
            return Proofing.NOT_CURRENT
        return Proofing.CHECKED_NOW if self.sign_source == "ocsp" else Proofing.CURRENT

    def refuse_unestablished(self, asked: Callable[[], int | None]) -> None:
        """Raise FailedClosedAtLevelError (424) when the login asks for a level (``asked()``,
        read only when it matters) at which the trust policy fails closed for a status this
        check could not establish; otherwise the login goes on at what the evidence earns."""
        if not self.refused_at:
            return
        ial = asked()
        if ial is not None and ial in self.refused_at:
            refused = FailedClosedAtLevelError(self.unestablished, ial)
            if self.on_refused is not None:  # audited as every refused sign-in
                self.on_refused(self, refused, None)
            raise refused

    def refuse_inactive(self, method: str | None = None) -> None:
        """Raise the person's refusal when the private ID no longer signs in (audited, with
        ``method``, how the person signed in, when the caller says)."""
        refused: IdpError | None = None
        if self.locked:
            refused = AccountLockedError()
        elif self.state in _PERSON_STATE:
            refused = account_not_active(_PERSON_STATE[self.state])
        if refused is None:
            return
        if self.on_refused is not None:
            self.on_refused(self, refused, method)
        raise refused


Refusals = Callable[[AnchorCheck, IdpError, str | None, Session | None], None]


@dataclass(frozen=True)
class Asked:
    """A re-check asked and decided, not yet recorded (``AnchorChecker.asking``)."""

    decided: AnchorCheck  # as decided; no one told of its refusals yet
    # Records it in the caller's transaction; None: nothing to record (a closed or locked
    # private ID, or one without an anchor: no one was asked).
    writes: Callable[[Session], None] | None = None
    refusals: Refusals | None = None  # audits a refusal of the answer (with the session it is in)

    @property
    def check(self) -> AnchorCheck:
        """The answer, its refusals audited alone (each in a transaction of its own)."""
        return self._told(None)

    def record(self, db: Session) -> AnchorCheck:
        """Record the check in ``db``'s transaction; the answer's refusals are audited in it too,
        so a refusal that commits what came before it (``idp.db.transaction(keeping=...)``)
        commits its audit entry with them. The entries are appended as the transaction commits,
        after its other writes (``AuditLog.record(db=)``), whatever the caller writes after."""
        if self.writes is not None:
            self.writes(db)
        return self._told(db)

    def _told(self, db: Session | None) -> AnchorCheck:
        refusals = self.refusals
        if refusals is None:
            return self.decided
        return replace(self.decided, on_refused=lambda check, error, method:
                       refusals(check, error, method, db))


@dataclass(frozen=True)
class _Result:
    """What ``AnchorChecker._record`` writes of a check that asked J-LIS."""

    found: _Inputs
    anchor_id: int
    sign: CertAnswer
    auth: CertAnswer
    decision: Decision
    at: datetime


@dataclass(frozen=True)
class CertAnswer:
    status: CertStatus
    reason: ReasonFlags | None = None
    source: str | None = None  # the revocation source that answered: "ocsp" or "crl"
    max_ial: int = 2  # the highest IAL the trust policy lets the issuing CA's medium reach
    ca_retired: bool = False  # unknown because the trust policy retired the issuing CA


def _answered(answer: CertAnswer) -> dict[str, str | None]:
    return {"status": answer.status.value, "reason": answer.reason.value if answer.reason
            else None, "revocation_source": answer.source}


def reason_flag(reason: RevocationReason) -> ReasonFlags:
    """jpki's CRLReason and cryptography's share the RFC 5280 names."""
    return ReasonFlags(reason.value)


_CERT_STATUS = {CertState.GOOD: CertStatus.GOOD, CertState.REVOKED: CertStatus.REVOKED,
                CertState.UNKNOWN: CertStatus.UNKNOWN}


def answer_for(checked: CheckedStatus) -> CertAnswer:
    """What a revocation check that returned means for the anchor policy: an UNKNOWN status
    (``fail_closed = false``) stays unknown."""
    status = checked.status
    reason = reason_flag(status.reason) if status.reason is not None else None
    return CertAnswer(_CERT_STATUS[status.state], reason, status.source)


def _max_ial(trust: TrustPort, verified: VerifiedCertificate) -> int:
    """The trust policy's IAL limit for the medium of ``verified``'s CA (2 for a trust port that
    does not say, e.g. a test's fake)."""
    limit = getattr(trust, "max_ial", None)
    return int(limit(verified)) if limit is not None else 2


def _verified(trust: TrustPort, der: bytes, purpose: Purpose,
              at: datetime) -> VerifiedCertificate:
    """The certificate's path under ``trust``: remembered by a trust port that can
    (``TrustServices.verify_der``: until the certificate or its CA expires), else parsed and
    validated now."""
    remembered = getattr(trust, "verify_der", None)
    if remembered is not None:
        return remembered(der, purpose, at)  # type: ignore[no-any-return]
    return trust.verify(parse_certificate(der), purpose, at)


class AnchorChecker:
    def __init__(self, sessions: sessionmaker[Session], trust: TrustPort,
                 policy: AnchorPolicy | None = None,
                 changes: ChangeSink | None = None, audit: AuditLog | None = None,
                 meter: Meter | None = None) -> None:
        self._sessions = sessions
        self._audit = audit  # each re-check: both certificates' status, and the decision
        self._meter = meter  # its counts of this check's J-LIS answers join the result's write
        self._reads = dbm.single_read_sessions(sessions)
        self._engine: Engine = sessions.kw["bind"]  # _INPUTS is one SELECT (read_one)
        self._trust = trust
        self._policy = policy  # None: the trust policy's current reason mapping
        self._changes = changes  # told of a changed state, in the transaction recording it

    def check(self, private_id: str, *, auth: CertAnswer | None = None) -> AnchorCheck:
        """Ask now, decide, record (in a transaction of its own). ``auth``: the status of the
        auth certificate a card login has just presented and checked, so it is not asked twice
        (and weighs as the credential). The answer names the levels at which the login must be
        refused (``refused_at``: a status it relies on was not established and the trust policy
        fails closed there); its refusals are audited alone."""
        with self.asking(private_id, auth=auth) as asked:
            if asked.writes is not None:
                with dbm.transaction(self._sessions) as db:
                    asked.record(db)
        return asked.check

    @contextmanager
    def asking(self, private_id: str, *, auth: CertAnswer | None = None,
               inputs: Sequence[Any] | None = None) -> Iterator[Asked]:
        """Ask now and decide, writing nothing (no transaction is open during the J-LIS calls):
        the caller records the answer in its own transaction (:meth:`Asked.record`), which ends
        inside the block, where the J-LIS counts wait for it (``Meter.deferred``). ``inputs``:
        what the check reads, already read by the caller's statement (:meth:`along`)."""
        with self._meter.deferred() if self._meter is not None else nullcontext():
            yield self._ask(private_id, auth, inputs)

    @staticmethod
    def along(statement: Select[Any], private_id: ColumnElement[str]) -> Select[Any]:
        """``statement`` also reading, after its own columns, what the check of the person whose
        id is ``private_id`` (a column of it) reads: the values :meth:`asking` takes as
        ``inputs``. A passkey sign-in reads them with its passkey, in one round trip."""
        return _with_inputs(statement, private_id)

    def _refused(self, check: AnchorCheck, error: IdpError, method: str | None,
                 db: Session | None = None) -> None:
        """A sign-in refused for the private ID's state (closed, suspended, locked), or at a
        level that fails closed: after the check, in ``db``'s transaction when it is recorded in
        one (which may have written nothing: a closed or locked one asks no one)."""
        if self._audit is not None:
            self._audit.record("login", actor=audit.person(check.private_id), outcome="refused",
                               details={"reason": error.code, "anchor": check.state.value,
                                        **({"method": [method]} if method else {})}, db=db)

    def _ask(self, private_id: str, auth: CertAnswer | None,
             inputs: Sequence[Any] | None = None) -> Asked:
        at = anchors.now()
        row = inputs if inputs is not None else \
            read_one(self._engine, _INPUTS, {"private_id": private_id})
        found = None if row is None else _Inputs(*row)
        if found is not None and found.state == "closed":
            return self._answer(AnchorCheck(private_id, AnchorState.CLOSED, "closed", None, at))
        if found is not None and found.locked_at is not None:  # no J-LIS call: refused anyway
            state = AnchorState(found.anchor_state) if found.anchor_state else \
                AnchorState.UNVERIFIABLE
            return self._answer(AnchorCheck(private_id, state, "locked", None, at, locked=True))
        if found is None or found.anchor_id is None:
            return self._answer(AnchorCheck(private_id, AnchorState.UNVERIFIABLE, "no_anchor",
                                            "onboard", at))
        sign = self.status(found.sign_der, Purpose.SIGN, at)
        presented = auth is not None
        if auth is None:
            auth = self.status(found.auth_der, Purpose.AUTH, at) if found.auth_der else \
                CertAnswer(CertStatus.NOT_CHECKED)
        decision = decide(Observation(sign.status, sign.reason, auth.status, auth.reason,
                                      presented, suspended=found.state == "suspended",
                                      sign_ca_retired=sign.ca_retired),
                          self._reasons())
        unestablished, refused_at = self._fails_closed(sign, auth if presented else None)
        check = AnchorCheck(private_id, decision.state, decision.reason, decision.next_step, at,
                            sign.source, sign.max_ial, refused_at=refused_at,
                            unestablished=unestablished)
        return self._answer(check, _Result(found, found.anchor_id, sign, auth, decision, at))

    def _answer(self, check: AnchorCheck, result: _Result | None = None) -> Asked:
        return Asked(check, None if result is None else partial(self._record, result),
                     self._refused if self._audit is not None else None)

    def _record(self, result: _Result, db: Session) -> None:
        """What a check found, in ``db``'s transaction: the anchor's state, the J-LIS counts, the
        person's state when it changes, the change for the sink and the audit entry (appended as
        the transaction commits)."""
        found, decision, at = result.found, result.decision, result.at
        person = (found.state, _PERSON_STATE.get(decision.state, "active"))
        anchors.set_checked(db, result.anchor_id, decision.state.value, decision.reason, at)
        if self._meter is not None:
            self._meter.write_pending(db)
        if person[1] != person[0]:
            _set_person_state(db, found.private_id, decision.state)  # a change: rare
        self._tell(db, found, decision, person, at)
        self._audited(db, found, result.sign, result.auth, decision)

    def _fails_closed(self, sign: CertAnswer, auth: CertAnswer | None
                      ) -> tuple[str, frozenset[int]]:
        """(the purpose whose status was not established, the identity levels at which the
        trust policy fails closed for it): a status the login relies on (the anchor's; a card
        login's own auth certificate) UNKNOWN. A retired CA is no outage (weighed as such)."""
        rule = getattr(self._trust, "fails_closed", None)
        if rule is None:
            return "", frozenset()
        for purpose, answer in ((Purpose.SIGN, sign), (Purpose.AUTH, auth)):
            if answer is not None and answer.status is CertStatus.UNKNOWN and \
                    not answer.ca_retired:
                levels = frozenset(ial for ial in (1, 2) if rule(purpose, ial))
                if levels:
                    return purpose.value, levels
        return "", frozenset()

    def _reasons(self) -> AnchorPolicy:
        if self._policy is not None:
            return self._policy
        current = getattr(self._trust, "reasons", None)
        return current() if current is not None else DEFAULT_POLICY

    def _tell(self, db: Session, found: Any, decision: Decision, person: tuple[str, str],
              at: datetime) -> None:
        change = changes.checked(
            found.private_id, anchor=changes.Credential(found.issuer_dn, found.serial_hex),
            before=found.anchor_state, before_reason=found.last_result, decision=decision,
            person=person, at=int(at.timestamp()))
        if change is not None and self._changes is not None:
            self._changes.record(db, [change])

    def _audited(self, db: Session, found: Any, sign: CertAnswer, auth: CertAnswer,
                 decision: Decision) -> None:
        """The re-check in the audit log: each certificate's status and the source that said
        it, and the decision; appended as the transaction recording it commits, after its
        writes (and before the entries recorded after it)."""
        if self._audit is not None:
            self._audit.record(
                "anchor.checked", actor=audit.person(found.private_id),
                target=f"anchor:{found.issuer_dn}/{found.serial_hex}",
                outcome=decision.state.value,
                details={"sign": _answered(sign), "auth": _answered(auth),
                         "reason": decision.reason}, db=db)

    def status(self, der: bytes, purpose: Purpose, at: datetime) -> CertAnswer:
        """One certificate's status under the trust policy; unknown when it cannot be told."""
        trust = self._trust
        try:
            verified = _verified(trust, der, purpose, at)
            checked = trust.check_now(verified)  # revocation: asked every time
        except CertificateExpiredError:
            return CertAnswer(CertStatus.EXPIRED)
        except CertificateRevokedError as revoked:
            return CertAnswer(CertStatus.REVOKED, reason_flag(revoked.reason))
        except RetiredCaError:
            return CertAnswer(CertStatus.UNKNOWN, ca_retired=True)
        except JpkiError:
            return CertAnswer(CertStatus.UNKNOWN)  # fail closed: unavailable or untrusted now
        answer = answer_for(checked)  # fail-open returns UNKNOWN rather than raising
        return replace(answer, max_ial=_max_ial(trust, verified))


    def record_revoked_card(self, body: Any, revoked: CertificateRevokedError) -> None:
        """A card answer refused for a revoked auth certificate of a known card: record what
        it means for the account now (J-LIS revokes the auth certificate only on card loss,
        emigration or death: domain.md). ``body`` is the card app's answer as sent."""
        try:
            certificate = parse_certificate(base64.b64decode(body["certificate"]))
        except (IdpError, KeyError, TypeError, ValueError):
            return
        with self._reads() as db:
            link = db.get(AuthLink, certificate.serial_hex)
            private_id = link.private_id if link else None
        if private_id is not None:
            self.check(private_id,
                       auth=CertAnswer(CertStatus.REVOKED, reason_flag(revoked.reason)))


def _inputs() -> Select[Any]:
    """The person's state, live anchor (with its last state, for the change it may make) and
    newest auth certificate of ``:private_id`` in one round trip, no row for an unknown one
    (built once, as ``_INPUTS``; a passkey sign-in reads the same with its passkey)."""
    private_id = bindparam("private_id", type_=String())
    return _with_inputs(select().select_from(PrivateId).where(PrivateId.id == private_id),
                        private_id)


def _with_inputs(statement: Select[Any], private_id: ColumnElement[str]) -> Select[Any]:
    """``_Inputs``' columns, in its order, added to ``statement`` (``AnchorChecker.along``):
    the person's state and lock and the newest auth certificate as scalar subqueries (each on
    its own table, whatever ``statement`` reads), the live anchor joined (the newest, should
    there be two)."""
    auth = (select(AuthLink.certificate).where(AuthLink.private_id == private_id)
            .order_by(AuthLink.linked_at.desc()).limit(1).correlate_except(AuthLink))
    state = select(PrivateId.state).where(PrivateId.id == private_id) \
        .correlate_except(PrivateId)
    locked = select(AccountLock.locked_at).where(AccountLock.private_id == private_id) \
        .correlate_except(AccountLock)
    return (statement.add_columns(
                private_id.label("inputs_private_id"), state.scalar_subquery().label("state"),
                JpkiAnchor.id.label("anchor_id"), JpkiAnchor.certificate.label("sign_der"),
                auth.scalar_subquery().label("auth_der"), JpkiAnchor.state.label("anchor_state"),
                JpkiAnchor.last_result, JpkiAnchor.issuer_dn, JpkiAnchor.serial_hex,
                locked.scalar_subquery().label("locked_at"))
            .outerjoin(JpkiAnchor, and_(JpkiAnchor.private_id == private_id,
                                        JpkiAnchor.superseded_by.is_(None)))
            .order_by(JpkiAnchor.id.desc()).limit(1))


class _Inputs(NamedTuple):
    """The columns ``_with_inputs`` adds to a statement (``_INPUTS``: only these)."""

    private_id: str
    state: str
    anchor_id: int | None
    sign_der: bytes  # None only without an anchor (anchor_id None)
    auth_der: bytes | None
    anchor_state: str | None
    last_result: str | None
    issuer_dn: str | None
    serial_hex: str | None
    locked_at: datetime | None


_INPUTS = Prepared(_inputs())


def _set_person_state(db: Session, private_id: str, state: AnchorState) -> None:
    """Suspended and closed follow the anchor; any other state (re)activates, except that
    closed is final."""
    target = _PERSON_STATE.get(state, "active")
    db.execute(update(PrivateId).where(PrivateId.id == private_id, PrivateId.state != "closed")
               .values(state=target))
