"""Recording to the audit log (``AuditLog.record``), and reading it back.

An append (``idp.audit.append``) locks the head row until its transaction ends, so in a unit of
work's own transaction (``record(..., db=session)``) the entries are its last writes: ``record``
keeps them with the session, and they are appended, in the order recorded, just before the
session's transaction commits (a ``before_commit`` listener, after the ORM's pending writes are
flushed). Wherever a flow records, the head is locked last, after the rows of its other writes
(never head then rows: the order of every transaction stays rows then head, so two of them
cannot deadlock on it), and held only until the commit. A transaction that rolls back or ends
uncommitted (or a savepoint that rolls back, for what was recorded inside it) appends nothing of
what it kept. On its own, an append is one autocommit statement on PostgreSQL. Why appends are
synchronous, not buffered: docs/adr/0003-audit-log.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, overload

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from idp.audit.append import (
    ENTRY_REQUEST_ID,
    ENTRY_TIME,
    append,
    append_all,
    append_with,
    slot,
)
from idp.audit.entries import Entry, clean_details, text, timestamp
from idp.audit.models import AuditHead, AuditRow
from idp.request_context import current_request_id

_BATCH = 1000
_KEPT = "idp.audit.kept"  # Session.info: [(the transaction recorded in, body)], in order


class AuditLog:
    """The one way to write an audit entry (``record``) and to read entries back."""

    def __init__(self, sessions: sessionmaker[Session], *, origin: str) -> None:
        self.sessions = sessions
        engine = sessions.kw["bind"]
        # One statement needs no transaction of its own on PostgreSQL (idp.audit.append).
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT") \
            if engine.dialect.name == "postgresql" else None
        self.origin = origin  # names this log in its checkpoints: "<issuer>/audit"

    @overload
    def record(self, action: str, *, actor: str, target: str | None = None,
               outcome: str = "ok", details: Mapping[str, Any] | None = None,
               db: None = None) -> Entry: ...

    @overload
    def record(self, action: str, *, actor: str, target: str | None = None,
               outcome: str = "ok", details: Mapping[str, Any] | None = None,
               db: Session | None) -> Entry | None: ...

    def record(self, action: str, *, actor: str, target: str | None = None,
               outcome: str = "ok", details: Mapping[str, Any] | None = None,
               db: Session | None = None) -> Entry | None:
        """Append one entry in a transaction of its own, answered; with ``db``, in that
        session's transaction as its last write: kept until the transaction commits, appended
        then after its other writes (None: not appended yet), dropped if it rolls back."""
        body = _body(action, actor, target, outcome, details)
        if db is not None:
            recorded_in = db.get_nested_transaction() or db.get_transaction()
            if recorded_in is None:  # nothing begun yet: the session autobegins one now
                db.connection()
                recorded_in = db.get_transaction()
            db.info.setdefault(_KEPT, []).append((recorded_in, body))
            return None
        if self._autocommit is not None:
            with self._autocommit.connect() as connection:
                return append(connection, body)
        with self.sessions.kw["bind"].begin() as connection:
            return append(connection, body)

    def record_on(self, cursor: Any, dialect: str, action: str, *, actor: str,
                  target: str | None = None, outcome: str = "ok",
                  details: Mapping[str, Any] | None = None) -> Entry:
        """Append one entry through ``cursor``, a DBAPI cursor in a transaction its caller
        commits (the token endpoint's raw statements, ``idp.oidc.prepared``): the entry commits
        with that transaction's writes, in its one commit. Appended now: the caller makes it
        its transaction's last write."""
        return append_with(cursor, dialect, _body(action, actor, target, outcome, details))

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the last entry: (0, 64 zeros) for an empty log."""
        with self.sessions() as db:
            head = db.get_one(AuditHead, 1)
            return head.seq, head.hash

    def entries(self, *, since: int | datetime | None = None, actor: str | None = None,
                action: str | None = None, limit: int | None = 100,
                newest_first: bool = False, outcome: str | None = None,
                until: int | datetime | None = None,
                target: str | None = None) -> list[Entry]:
        """Entries filtered for an administrator: from seq ``since`` (inclusive) or from a
        time, to seq ``until`` (inclusive) or before a time; ``action`` matches exactly or,
        ending in ".", as a prefix ("login."); ``outcome`` and ``target`` exactly."""
        query = select(AuditRow)
        if isinstance(since, datetime):
            query = query.where(AuditRow.time >= timestamp(since))
        elif since is not None:
            query = query.where(AuditRow.seq >= since)
        if isinstance(until, datetime):
            query = query.where(AuditRow.time < timestamp(until))
        elif until is not None:
            query = query.where(AuditRow.seq <= until)
        if actor is not None:
            query = query.where(AuditRow.actor == actor)
        if outcome is not None:
            query = query.where(AuditRow.outcome == outcome)
        if target is not None:
            query = query.where(AuditRow.target == target)
        if action is not None:
            query = query.where(AuditRow.action.startswith(action, autoescape=True)
                                if action.endswith(".") else AuditRow.action == action)
        query = query.order_by(AuditRow.seq.desc() if newest_first else AuditRow.seq)
        if limit is not None:
            query = query.limit(limit)
        with self.sessions() as db:
            return [to_entry(row) for row in db.scalars(query)]

    def scan(self, *, since: int | datetime | None = None,
             until: int | None = None) -> Iterator[Entry]:
        """Every entry from ``since`` (to seq ``until``) in seq order, read in batches (export,
        verification)."""
        after = None
        while True:
            batch = self.entries(since=since if after is None else after + 1, limit=_BATCH)
            if until is not None and batch and batch[-1].seq > until:
                yield from (entry for entry in batch if entry.seq <= until)
                return
            yield from batch
            if len(batch) < _BATCH:
                return
            after = batch[-1].seq


@event.listens_for(Session, "before_commit")
def _append_kept(db: Session) -> None:
    """The entries ``db``'s transaction kept, appended as its last writes (a savepoint's are
    its enclosing transaction's: appended when that commits)."""
    kept = db.info.get(_KEPT)
    if not kept or db.in_nested_transaction():
        return
    db.flush()  # the ORM's pending writes before the entries (they take the head lock)
    bodies = [body for _, body in kept]
    kept.clear()  # a failed append fails the commit: the transaction rolls back
    append_all(db.connection(), bodies)


@event.listens_for(Session, "after_soft_rollback")
def _drop_kept(db: Session, rolled_back: SessionTransaction) -> None:
    """A transaction (or savepoint) that rolls back appends nothing recorded inside it."""
    kept = db.info.get(_KEPT)
    if kept:
        kept[:] = [(recorded_in, body) for recorded_in, body in kept
                   if not _inside(recorded_in, rolled_back)]


@event.listens_for(Session, "after_transaction_end")
def _forget_kept(db: Session, ended: SessionTransaction) -> None:
    """The session's transaction ended without committing (closed): nothing of it is kept for
    the session's next one (after a commit there is nothing left)."""
    if ended.parent is None and db.info.get(_KEPT):
        _drop_kept(db, ended)


def _inside(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


def template_bodies(*entries: tuple[str, tuple[str, Mapping[str, Any]]]) -> \
        dict[str, dict[str, Any]]:
    """Bodies of entries a statement appends itself (``idp.audit.append.template_params``),
    by name, from ``record``'s arguments: name -> (action, {actor, target, outcome, details}).
    Their time and request id are slots, filled in by each run."""
    return {name: {**_body(action, entry["actor"], entry.get("target"),
                           entry.get("outcome", "ok"), entry.get("details")),
                   "time": slot("time"), "request_id": slot("request_id")}
            for name, (action, entry) in entries}


def run_params() -> dict[str, Any]:
    """What fills a template's ``time`` and ``request_id`` slots at each run: the values
    ``_body`` gives an entry written from Python (``idp.audit.append.appended_by``'s
    parameters)."""
    return {ENTRY_TIME.key: timestamp(), ENTRY_REQUEST_ID.key: current_request_id()}


def _body(action: str, actor: str, target: str | None, outcome: str,
          details: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"time": timestamp(), "actor": text(actor), "action": action,
            "target": None if target is None else text(target),
            "outcome": outcome, "request_id": current_request_id(),
            "details": clean_details(details)}


def to_entry(row: AuditRow) -> Entry:
    return Entry(seq=row.seq, time=row.time, actor=row.actor, action=row.action,
                 target=row.target, outcome=row.outcome, request_id=row.request_id,
                 details=json.loads(row.details), prev_hash=row.prev_hash, hash=row.hash)
