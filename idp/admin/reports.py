"""What the platform recorded, for the administrators: the audit log and the month's metering.

Both are reads (``read_audit``, ``read_metering``: admin and auditor; support, who answers
people, neither) and, as every admin action, recorded themselves: reading the audit log leaves
an ``admin.audit.read`` entry with the filter used.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from idp.admin.errors import InvalidAdminInputError
from idp.admin.record import Recorder
from idp.admin.roles import Actor, Permission
from idp.admin.schemas import (
    AuditEntries,
    AuditEntryOut,
    AuditQuery,
    MeteringOut,
    MeteringQuery,
)
from idp.audit.log import AuditLog
from idp.audit.models import CheckpointRow
from idp.metering import MeteringReport, month_of, parse_month
from idp.metering.report import as_json

_SEQ = re.compile(r"\d{1,18}")


def parse_since(value: str | None, name: str = "since") -> int | datetime | None:
    """A seq number (``120``) or an RFC 3339 / ISO 8601 time (``2026-12-02T10:00:00Z``; a
    date alone is its midnight, a time without offset is UTC); refused otherwise (400), the
    field's ``name`` in the message."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if _SEQ.fullmatch(value):
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # not a time, or one that leaves the calendar in UTC
        raise InvalidAdminInputError(
            f"{name} is a seq number (120) or a time (2026-12-02T10:00:00Z)") from None


class AuditAdmin:
    def __init__(self, audit: AuditLog, record: Recorder) -> None:
        self._audit = audit
        self._record = record

    def entries(self, actor: Actor, query: AuditQuery) -> AuditEntries:
        """The entries matching ``query``, newest first."""
        self._record.authorise(actor, Permission.READ_AUDIT, "audit.read", None)
        since, until = parse_since(query.since), parse_since(query.until, "until")
        found = self._audit.entries(since=since, until=until, actor=query.actor or None,
                                    target=query.target or None, action=query.action or None,
                                    outcome=query.outcome or None, limit=query.limit,
                                    newest_first=True)
        head_seq, head_hash = self._audit.head()
        self._record(actor, "audit.read", None, None, "done", {
            "since": query.since, "until": query.until, "actor": query.actor,
            "target": query.target, "action": query.action, "outcome": query.outcome,
            "limit": query.limit, "found": len(found)})
        return AuditEntries(entries=[AuditEntryOut.model_validate(e.to_json()) for e in found],
                            head_seq=head_seq, head_hash=head_hash)

    def head(self) -> tuple[int, str]:
        return self._audit.head()

    def last_checkpoint(self) -> tuple[int, str] | None:
        """(seq, time) of the newest stored checkpoint (``idp audit checkpoint``), as stored:
        for the home page; ``idp audit verify --checkpoint`` checks its signature."""
        with self._audit.sessions() as db:
            row = db.execute(select(CheckpointRow.seq, CheckpointRow.time)
                             .order_by(CheckpointRow.seq.desc()).limit(1)).first()
        return (row.seq, row.time) if row is not None else None

    @property
    def recorder(self) -> Recorder:
        return self._record


class MeteringAdmin:
    def __init__(self, report: MeteringReport, record: Recorder) -> None:
        self._report = report
        self._record = record

    def month(self, actor: Actor, query: MeteringQuery) -> MeteringOut:
        """The month's report (``query.month`` YYYY-MM; this month, Japan time as billed,
        when left out)."""
        self._record.authorise(actor, Permission.READ_METERING, "metering.read", query.month)
        month = self.month_of(query.month)
        report = MeteringOut.model_validate(as_json(month, self._report.report(month)))
        self._record(actor, "metering.read", month, None, "done")
        return report

    def month_of(self, value: str | None) -> str:
        """``value`` checked (a BadMonthError, 400, unless YYYY-MM), or this month."""
        return parse_month(value) if value else month_of(datetime.now(UTC))

    @property
    def report(self) -> MeteringReport:
        return self._report
