"""``idp recheck``: every stored anchor re-checked at once (変更確認, change detection).

What a login's re-check (``AnchorChecker``) does for one person is done here for a million at
once, with the same policy and the same outcome: one read of the live anchors (serial, CA,
notAfter, last state), one pass over each CA's CRL index for all of that CA's serials
(``recheck_status``), one decision per distinct status, and writes only where a state changed,
each with the :class:`~idp.accounts.changes.Change` it makes, handed to the change sink in bulk
in the transaction that records it. Where the batch cannot decide alone, ``AnchorChecker`` does,
person by person:

- a purpose whose trust policy says ``method = "ocsp"`` (the batch reads CRLs only; J-LIS
  publishes them for exactly this);
- an anchor or auth certificate whose CA is not trusted by that key id (the login's path
  validation says what that means) or that lacks the columns of migration 0009.

The certificate path is not validated again: it was at onboarding, and what changes afterwards
is revocation and expiry (the stored notAfter). The auth certificate is consulted only where it
can change the decision (``Decisions.without_auth``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from idp import db as dbm
from idp.accounts import anchors, changes
from idp.accounts.anchor_check import AnchorChecker, CertAnswer
from idp.accounts.anchor_policy import Decision
from idp.accounts.changes import ChangeSink
from idp.accounts.jpki_models import AuthLink, JpkiAnchor
from idp.accounts.models import PrivateId
from idp.accounts.ports import RevocationLists
from idp.accounts.recheck_status import NOT_CHECKED, Decisions, OneByOne, Row, ca_statuses
from idp.jpki.profile import Purpose

CHUNK = 500  # changed anchors per write transaction (others' writes wait for one chunk only)
STAMP_RANGE = 50_000  # anchor ids per last_checked_at update
_PERSON = {"suspended": "suspended", "closed": "closed"}
Changed = tuple[int, str, Decision]  # anchor id, state before, decision
# A live anchor as read: id, serial hex, CA key id hex, notAfter (epoch), state, last reason
Live = tuple[int, str, str | None, int | None, str, str | None]
_RowT = TypeVar("_RowT", bound=tuple[Any, ...])


@dataclass
class RecheckReport:
    checked: int = 0
    states: Counter[str] = field(default_factory=Counter)
    changes: list[dict[str, str]] = field(default_factory=list)


@dataclass
class _Run:
    at: datetime
    now: int
    report: RecheckReport = field(default_factory=RecheckReport)
    changed: list[Changed] = field(default_factory=list)
    # anchor id -> (state, reason) before, and the signing certificate's status: the anchors
    # whose decision the auth certificate's status makes
    need_auth: dict[int, tuple[tuple[str, str | None], CertAnswer]] = field(
        default_factory=dict)
    one_by_one: list[int] = field(default_factory=list)  # anchor ids
    stamped: list[int] = field(default_factory=list)  # anchor ids decided here

    def decided(self, anchor_id: int, before: tuple[str, str | None],
                decision: Decision) -> None:
        """The anchor was ``before`` (state, reason); record ``decision`` if it differs."""
        self.report.states[decision.state.value] += 1
        self.stamped.append(anchor_id)
        if decision.state != before[0] or decision.reason != before[1]:
            self.changed.append((anchor_id, before[0], decision))


class Recheck:
    def __init__(self, sessions: sessionmaker[Session], lists: RevocationLists,
                 checker: AnchorChecker, changes: ChangeSink | None = None,
                 decisions: Decisions | None = None) -> None:
        self._sessions = sessions
        self._lists = lists
        self._checker = checker
        self._changes = changes
        self._decisions = decisions or Decisions()

    def run(self, *, cutoff: datetime | None = None) -> RecheckReport:
        """Re-check every live anchor of a private ID that is not closed (``cutoff``: only
        those last checked before it)."""
        at = anchors.now()
        run = _Run(at, int(at.timestamp()))
        with self._sessions() as db:
            rows: Sequence[Live] = db.execute(_live(cutoff)).all()
        run.report.checked = len(rows)
        for key_id, group in _by_ca(rows).items():
            self._decide_signs(run, key_id, group)
        self._decide_with_auth(run)
        self._write(run)
        self._stamp(run, cutoff)
        self._check_one_by_one(run)
        return run.report

    def _decide_signs(self, run: _Run, key_id: str | None, group: list[Live]) -> None:
        serials = [int(row[1], 16) for row in group]
        try:
            statuses = ca_statuses(self._lists, Purpose.SIGN, key_id, serials)
        except OneByOne:
            run.one_by_one.extend(row[0] for row in group)
            return
        without_auth = self._decisions.without_auth
        for (anchor_id, _, _, not_after, state, reason), serial in zip(group, serials,
                                                                        strict=True):
            if not_after is None:
                run.one_by_one.append(anchor_id)
                continue
            sign = statuses.answer(serial, not_after, run.now)
            decision = without_auth(sign)
            if decision is None:
                run.need_auth[anchor_id] = ((state, reason), sign)
            else:
                run.decided(anchor_id, (state, reason), decision)

    def _decide_with_auth(self, run: _Run) -> None:
        """The anchors whose decision depends on the card's newest auth certificate."""
        if not run.need_auth:
            return
        with self._sessions() as db:
            links = _newest_links(db, list(run.need_auth))
        for anchor_id, (before, sign) in run.need_auth.items():
            if anchor_id not in links:  # no auth certificate known: not checked, as at a login
                run.decided(anchor_id, before, self._decisions.with_auth(sign, NOT_CHECKED))
        for key_id, group in _by_ca(list(links.values())).items():
            try:
                statuses = ca_statuses(self._lists, Purpose.AUTH, key_id,
                                       [int(row[1], 16) for row in group])
            except OneByOne:
                run.one_by_one.extend(row[0] for row in group)
                continue
            for anchor_id, serial_hex, _, not_after in group:
                before, sign = run.need_auth[anchor_id]
                auth = statuses.answer(int(serial_hex, 16), not_after or 0, run.now)
                run.decided(anchor_id, before, self._decisions.with_auth(sign, auth))

    def _write(self, run: _Run) -> None:
        for start in range(0, len(run.changed), CHUNK):
            with dbm.transaction(self._sessions) as db:
                found = _record(db, run, run.changed[start:start + CHUNK])
                if found and self._changes is not None:
                    self._changes.record(db, found)

    def _stamp(self, run: _Run, cutoff: datetime | None) -> None:
        """last_checked_at of the anchors decided here, a range of ids per transaction."""
        ids = sorted(run.stamped)
        for start in range(0, len(ids), STAMP_RANGE):
            low, high = ids[start], ids[min(start + STAMP_RANGE, len(ids)) - 1]
            with dbm.transaction(self._sessions) as db:
                db.execute(update(JpkiAnchor).where(
                    JpkiAnchor.id.between(low, high), *_live_conditions(cutoff))
                    .values(last_checked_at=run.at).execution_options(
                        synchronize_session=False))

    def _check_one_by_one(self, run: _Run) -> None:
        if not run.one_by_one:
            return
        with self._sessions() as db:
            found = db.execute(select(JpkiAnchor.private_id, JpkiAnchor.state).where(
                JpkiAnchor.id.in_(run.one_by_one))).all()
        for private_id, before in sorted(found):
            check = self._checker.check(private_id)
            run.report.states[check.state.value] += 1
            if check.state != before:  # the checker told the sink itself
                run.report.changes.append({"private_id": private_id, "from": before,
                                           "to": check.state.value, "reason": check.reason})


def _record(db: Session, run: _Run, chunk: Sequence[Changed]) -> list[changes.Change]:
    """Record the changed states of ``chunk``; the changes they make. An anchor whose state a
    login changed meanwhile is left to that login (which told the sink itself)."""
    decided = {anchor_id: (before, decision) for anchor_id, before, decision in chunk}
    rows = db.execute(select(JpkiAnchor.id, JpkiAnchor.private_id, JpkiAnchor.issuer_dn,
                             JpkiAnchor.serial_hex, JpkiAnchor.last_result, PrivateId.state)
                      .join(PrivateId, PrivateId.id == JpkiAnchor.private_id)
                      .where(JpkiAnchor.id.in_(decided))).all()
    found = []
    for anchor_id, private_id, issuer_dn, serial_hex, last_result, person_state in rows:
        before, decision = decided[anchor_id]
        claimed = db.execute(update(JpkiAnchor).where(
            JpkiAnchor.id == anchor_id, JpkiAnchor.state == before).values(
            state=decision.state.value, last_result=decision.reason[:128],
            last_checked_at=run.at).execution_options(synchronize_session=False))
        if not claimed.rowcount:  # type: ignore[attr-defined]
            continue
        person = (person_state, _PERSON.get(decision.state.value, "active"))
        if person[1] != person[0]:
            db.execute(update(PrivateId).where(PrivateId.id == private_id,
                                               PrivateId.state != "closed")
                       .values(state=person[1]).execution_options(synchronize_session=False))
        if decision.state != before:  # not only its reason
            run.report.changes.append({"private_id": private_id, "from": before,
                                       "to": decision.state.value, "reason": decision.reason})
        change = changes.checked(private_id, anchor=changes.Credential(issuer_dn, serial_hex),
                                 before=before, before_reason=last_result, decision=decision,
                                 person=person, at=run.now)
        if change is not None:
            found.append(change)
    return found


def _by_ca(rows: Sequence[_RowT]) -> dict[str | None, list[_RowT]]:
    """``rows`` by their CA's key id (the third member)."""
    groups: dict[str | None, list[_RowT]] = defaultdict(list)
    for row in rows:
        groups[row[2]].append(row)
    return groups


def _live_conditions(cutoff: datetime | None) -> list[ColumnElement[bool]]:
    closed = select(PrivateId.id).where(PrivateId.state == "closed")
    found: list[ColumnElement[bool]] = [JpkiAnchor.superseded_by.is_(None),
                           JpkiAnchor.private_id.not_in(closed)]
    if cutoff is not None:
        found.append(or_(JpkiAnchor.last_checked_at.is_(None),
                         JpkiAnchor.last_checked_at < cutoff))
    return found


def _live(cutoff: datetime | None) -> Select[int, str, str, int | None, str, str | None]:
    return select(JpkiAnchor.id, JpkiAnchor.serial_hex, JpkiAnchor.issuer_key_id,
                  JpkiAnchor.not_after, JpkiAnchor.state, JpkiAnchor.last_result).where(
        *_live_conditions(cutoff))


def _newest_links(db: Session, anchor_ids: list[int]) -> dict[int, Row]:
    """Each anchor's person's newest auth link with its certificate, as a :class:`Row` keyed
    and numbered by the anchor; anchors whose newest link has no certificate (or none at all)
    are left out: their auth status is not checked, as at a login."""
    found: dict[int, Row] = {}
    for start in range(0, len(anchor_ids), CHUNK):
        chunk = anchor_ids[start:start + CHUNK]
        rows = db.execute(select(
            JpkiAnchor.id, AuthLink.serial_hex, AuthLink.issuer_key_id, AuthLink.not_after,
            AuthLink.certificate.is_not(None), AuthLink.linked_at)
            .join(AuthLink, AuthLink.private_id == JpkiAnchor.private_id)
            .where(JpkiAnchor.id.in_(chunk)).order_by(AuthLink.linked_at)).all()
        newest = {row[0]: row for row in rows}  # ordered by linked_at: the last one wins
        for anchor_id, serial, key_id, not_after, has_certificate, _ in newest.values():
            if has_certificate:
                found[anchor_id] = (anchor_id, serial, key_id if not_after else None, not_after)
    return found
