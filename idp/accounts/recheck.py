"""``idp recheck``: every stored anchor re-checked at once (変更確認, change detection).

What a login's re-check (``AnchorChecker``) does for one person is done here for a million at
once, with the same policy and the same outcome. Per CA: the serials of its live anchors (one
column, from a covering index: ``recheck_read``), one pass over its CRL index for all of them
(``recheck_status``), and the *usual* decision, that of a certificate neither expired nor
listed. Only the anchors it does not settle are read whole and decided alone: those on the CRL,
expired, or recorded in another state. Writes happen only where a state or its reason changed,
each with the :class:`~idp.accounts.changes.Change` it makes, handed to the change sink in bulk
in the transaction recording it (``recheck_write``); a completed full run is recorded once
(:class:`~idp.accounts.jpki_models.RecheckRun`) instead of a million timestamps. Where the batch
cannot decide alone, ``AnchorChecker`` does, person by person:

- a purpose whose trust policy says ``method = "ocsp"`` (the batch reads CRLs only; J-LIS
  publishes them for exactly this);
- an anchor or auth certificate whose CA is not trusted by that key id (the login's path
  validation says what that means) or that lacks the columns of migration 0009.

The certificate path is not validated again: it was at onboarding, and what changes afterwards
is revocation and expiry (the stored notAfter). The auth certificate is consulted only where it
can change the decision (``Decisions.without_auth``). Anchors of closed private IDs are left
alone, as by ``AnchorChecker`` (closed is final).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from idp import db as dbm
from idp.accounts import anchors, recheck_read, recheck_write
from idp.accounts.anchor_check import AnchorChecker, CertAnswer
from idp.accounts.anchor_policy import AnchorState, Decision
from idp.accounts.changes import ChangeSink
from idp.accounts.jpki_models import JpkiAnchor, RecheckRun
from idp.accounts.ports import RevocationLists
from idp.accounts.recheck_read import Live
from idp.accounts.recheck_status import NOT_CHECKED, CaStatuses, Decisions, OneByOne, ca_statuses
from idp.accounts.recheck_write import Changed
from idp.jpki.profile import Purpose


@dataclass
class RecheckReport:
    checked: int = 0
    states: Counter[str] = field(default_factory=Counter)
    changes: list[dict[str, str]] = field(default_factory=list)


@dataclass
class _Run:
    at: datetime
    now: int
    cutoff: datetime | None
    closed: dict[int, str | None]  # live anchors of closed private IDs, with their CA
    report: RecheckReport = field(default_factory=RecheckReport)
    changed: list[Changed] = field(default_factory=list)
    # the anchors whose decision the auth certificate makes: their row, and the signing status
    need_auth: dict[int, tuple[Live, CertAnswer]] = field(default_factory=dict)
    one_by_one: list[int] = field(default_factory=list)  # anchor ids

    def decided(self, row: Live, decision: Decision) -> None:
        self.report.states[decision.state.value] += 1
        if decision.state != row[4] or decision.reason != row[5]:
            self.changed.append(Changed(row[0], row[4], row[5], decision))


class Recheck:
    def __init__(self, sessions: sessionmaker[Session], lists: RevocationLists,
                 checker: AnchorChecker, changes: ChangeSink | None = None,
                 decisions: Decisions | None = None) -> None:
        self._sessions = sessions
        self._lists = lists
        self._checker = checker
        self._changes = changes
        self._fixed = decisions
        self._decisions = decisions or Decisions()

    def run(self, *, cutoff: datetime | None = None) -> RecheckReport:
        """Re-check every live anchor of a private ID that is not closed; with ``cutoff``,
        only those not checked since (by a login, or by a full run started after it)."""
        at = anchors.now()
        # The trust policy's reason mapping as the run starts (a trust port that does not hold
        # one, e.g. a test's fake, means the default).
        reasons = getattr(self._lists, "reasons", None)
        self._decisions = self._fixed or (Decisions(reasons()) if reasons else Decisions())
        with self._sessions() as db:
            connection = db.connection()
            last = recheck_read.last_full_run(connection)
            if cutoff is not None and last is not None and last >= cutoff:
                return RecheckReport()
            run = _Run(at, int(at.timestamp()), cutoff, recheck_read.closed(connection, cutoff))
            for key_id in recheck_read.ca_key_ids(connection, cutoff):
                self._decide_ca(connection, run, key_id)
            self._decide_with_auth(connection, run)
        run.report.changes += recheck_write.record(self._sessions, self._changes, run.changed,
                                                   at)
        self._check_one_by_one(run)
        self._finish(run)
        return run.report

    def _decide_ca(self, connection: Connection, run: _Run, key_id: str | None) -> None:
        found = recheck_read.serials(connection, key_id, run.cutoff)
        try:
            statuses: CaStatuses | None = ca_statuses(self._lists, Purpose.SIGN, key_id, found)
        except OneByOne:
            statuses = None
        usual = self._decisions.without_auth(statuses.others) if statuses else None
        rows = [row for row in recheck_read.individual(
            connection, key_id, usual=usual, now=run.now, cutoff=run.cutoff,
            listed=list(statuses.revoked) if statuses else [])
            if row[0] not in run.closed]
        checked = len(found) - sum(1 for ca in run.closed.values() if ca == key_id)
        run.report.checked += checked
        if usual is not None and checked > len(rows):  # the rest: settled as usual
            run.report.states[usual.state.value] += checked - len(rows)
        for row in rows:
            self._decide_one(run, row, statuses)

    def _decide_one(self, run: _Run, row: Live, statuses: CaStatuses | None) -> None:
        if statuses is None or row[3] is None:
            run.one_by_one.append(row[0])
            return
        sign = statuses.answer(row[1], row[3], run.now)
        decision = self._decisions.without_auth(sign, suspended=_suspended(row))
        if decision is None:
            run.need_auth[row[0]] = (row, sign)
        else:
            run.decided(row, decision)

    def _decide_with_auth(self, connection: Connection, run: _Run) -> None:
        """The anchors whose decision depends on the card's newest auth certificate."""
        links = recheck_read.newest_links(connection, list(run.need_auth))
        for anchor_id, (row, sign) in run.need_auth.items():
            if anchor_id not in links:  # no auth certificate known: not checked, as at a login
                run.decided(row, self._decisions.with_auth(sign, NOT_CHECKED,
                                                           suspended=_suspended(row)))
        by_ca: dict[str | None, list[tuple[int, str, str | None, int | None]]] = {}
        for link in links.values():
            by_ca.setdefault(link[2], []).append(link)
        for key_id, group in by_ca.items():
            try:
                statuses = ca_statuses(self._lists, Purpose.AUTH, key_id,
                                       [link[1] for link in group])
            except OneByOne:
                run.one_by_one.extend(link[0] for link in group)
                continue
            for anchor_id, serial_hex, _, not_after in group:
                row, sign = run.need_auth[anchor_id]
                auth = statuses.answer(serial_hex, not_after or 0, run.now)
                run.decided(row, self._decisions.with_auth(sign, auth,
                                                           suspended=_suspended(row)))

    def _check_one_by_one(self, run: _Run) -> None:
        if not run.one_by_one:
            return
        with self._sessions() as db:
            found = db.execute(select(JpkiAnchor.private_id, JpkiAnchor.state).where(
                JpkiAnchor.id.in_(run.one_by_one))).all()
        for private_id, before in sorted(found):
            check = self._checker.check(private_id)  # which tells the sink itself
            run.report.states[check.state.value] += 1
            if check.state != before:
                run.report.changes.append({"private_id": private_id, "from": before,
                                           "to": check.state.value, "reason": check.reason})

    def _finish(self, run: _Run) -> None:
        """A full run is recorded once; a ``--due`` run stamps the anchors it checked."""
        with dbm.transaction(self._sessions) as db:
            if run.cutoff is None:
                db.add(RecheckRun(started_at=run.at, finished_at=anchors.now(),
                                  checked=run.report.checked,
                                  changed=len(run.report.changes)))
            else:
                recheck_write.stamp(db.connection(), run.at, recheck_read.live(run.cutoff))


def _suspended(row: Live) -> bool:
    """The anchor was suspended by an earlier check (its card lost or returned)."""
    return bool(row[4] == AnchorState.SUSPENDED.value)
