"""Appending to the audit log, and reading it back.

Appends are ordered by the head row (``audit_head``, id 1): each append first moves the head
on (``UPDATE ... SET seq = seq + 1 RETURNING``), which on PostgreSQL locks the row until the
transaction ends and on SQLite takes the database's one write lock. A second worker or node
appending at the same moment waits, then reads the head the first one left: no two entries get
one seq, none is lost, the chain never forks. The lock is held to the end of the transaction,
so a flow that appends inside its own transaction (``db=``) does it as its last write.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from idp import db as dbm
from idp.audit.entries import Entry, clean_details, digest, timestamp
from idp.audit.models import AuditHead, AuditRow
from idp.request_context import current_request_id

_ADVANCE = text("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
_SET_HEAD = text("UPDATE audit_head SET hash = :hash WHERE id = 1")
_BATCH = 1000


class AuditLog:
    """The one way to write an audit entry (``record``) and to read entries back."""

    def __init__(self, sessions: sessionmaker[Session], *, origin: str) -> None:
        self.sessions = sessions
        self.origin = origin  # names this log in its checkpoints: "<issuer>/audit"

    def record(self, action: str, *, actor: str, target: str | None = None,
               outcome: str = "ok", details: Mapping[str, Any] | None = None,
               db: Session | None = None) -> Entry:
        """Append one entry; with ``db``, inside that session's transaction (as its last
        write: the head stays locked until it commits), else in a transaction of its own."""
        body = {"action": action, "actor": actor, "target": target, "outcome": outcome,
                "request_id": current_request_id(), "details": clean_details(details)}
        if db is not None:
            return _append(db, body)
        with dbm.transaction(self.sessions) as session:
            return _append(session, body)

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the last entry: (0, 64 zeros) for an empty log."""
        with self.sessions() as db:
            head = db.get_one(AuditHead, 1)
            return head.seq, head.hash

    def entries(self, *, since: int | datetime | None = None, actor: str | None = None,
                action: str | None = None, limit: int | None = 100,
                newest_first: bool = False) -> list[Entry]:
        """Entries filtered for an administrator: from seq ``since`` (inclusive) or from a
        time; ``action`` matches exactly or, ending in ".", as a prefix ("login.")."""
        query = select(AuditRow)
        if isinstance(since, datetime):
            query = query.where(AuditRow.time >= timestamp(since))
        elif since is not None:
            query = query.where(AuditRow.seq >= since)
        if actor is not None:
            query = query.where(AuditRow.actor == actor)
        if action is not None:
            query = query.where(AuditRow.action.startswith(action, autoescape=True)
                                if action.endswith(".") else AuditRow.action == action)
        query = query.order_by(AuditRow.seq.desc() if newest_first else AuditRow.seq)
        if limit is not None:
            query = query.limit(limit)
        with self.sessions() as db:
            return [to_entry(row) for row in db.scalars(query)]

    def scan(self, *, since: int | datetime | None = None) -> Iterator[Entry]:
        """Every entry from ``since`` in seq order, read in batches (export, verification)."""
        after = None
        while True:
            batch = self.entries(since=since if after is None else after + 1, limit=_BATCH)
            yield from batch
            if len(batch) < _BATCH:
                return
            after = batch[-1].seq


def _append(db: Session, body: dict[str, Any]) -> Entry:
    seq, prev_hash = db.execute(_ADVANCE).one()
    fields = {**body, "seq": seq, "time": timestamp(), "prev_hash": prev_hash}
    entry = Entry(**fields, hash=digest(fields))
    db.add(AuditRow(seq=seq, time=entry.time, actor=entry.actor, action=entry.action,
                    target=entry.target, outcome=entry.outcome, request_id=entry.request_id,
                    details=json.dumps(body["details"], sort_keys=True, ensure_ascii=False,
                                       separators=(",", ":")),
                    prev_hash=prev_hash, hash=entry.hash))
    db.execute(_SET_HEAD, {"hash": entry.hash})
    db.flush()
    return entry


def to_entry(row: AuditRow) -> Entry:
    return Entry(seq=row.seq, time=row.time, actor=row.actor, action=row.action,
                 target=row.target, outcome=row.outcome, request_id=row.request_id,
                 details=json.loads(row.details), prev_hash=row.prev_hash, hash=row.hash)
