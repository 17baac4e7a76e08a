"""Retention: deleting the entries older than a date without breaking verification.

``prune`` first proves the whole log intact (a broken log is never pruned: the evidence would
go with it), then signs a *prune checkpoint* of the last entry to delete (seq ``S``, its hash
``H``, ``"prune": true``, ``"before"``) and stores it in ``audit_prunes``, then deletes entries
``1..S`` in short batches (the triggers of migration 0020 let a DELETE through at or below the
latest prune record only), and records the prune itself as an entry (``audit.pruned``).

Afterwards ``idp audit verify`` checks the log from ``S + 1`` on, its first entry naming ``H``
as ``prev_hash``: edits, removals and reorders in what is kept are detected as before, and so
is the removal of kept entries from the front (the signed floor says where the log starts).
The entries deleted stay provable from the archive: an export taken before the prune holds
entry ``S`` with hash ``H``, which the prune checkpoint signs, so ``verify --checkpoint
prune.json --export archive.jsonl`` proves the archive and the database are one chain.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select

from idp import db as dbm
from idp.audit import entries
from idp.audit.checkpoints import TYP, Checkpoint, Signer, prune_floor, read, verify_log
from idp.audit.entries import timestamp
from idp.audit.log import AuditLog
from idp.audit.models import AuditRow, PruneRow

BATCH = 5000  # entries deleted per transaction: short transactions, appends never wait long


@dataclass(frozen=True)
class Pruned:
    """What a prune did: the prune checkpoint (None when nothing was older than ``before``),
    the entries deleted, and the seq the log now starts at."""

    checkpoint: Checkpoint | None
    deleted: int
    first: int


def prune(log: AuditLog, signer: Signer, before: datetime, *, actor: str | None = None,
          batch: int = BATCH) -> Pruned:
    """Deletes the entries older than ``before``, behind a signed prune checkpoint of the last
    one deleted (module docstring). Raises ``AuditError`` when the log is not intact."""
    chain = verify_log(log, signer)
    cut = _last_before(log, timestamp(before), chain.size)
    floor = prune_floor(log, signer)
    done = floor.seq if floor else 0
    if cut <= done:  # nothing new to delete; finish a prune a crash interrupted
        return Pruned(floor, _delete(log, done, batch), done + 1)
    [entry] = log.entries(since=cut, limit=1)
    stamp = timestamp()
    jws = signer.sign({"iss": log.origin, "seq": cut, "hash": entry.hash, "time": stamp,
                       "iat": int(time.time()), "prune": True, "before": timestamp(before)},
                      typ=TYP)
    made = read(jws, signer, origin=log.origin)
    with dbm.transaction(log.sessions) as db:
        db.add(PruneRow(seq=cut, hash=entry.hash, before=timestamp(before), time=stamp,
                        jws=jws))
    deleted = _delete(log, cut, batch)
    log.record("audit.pruned", actor=actor or entries.system(), details={
        "before": timestamp(before), "through": cut, "deleted": deleted, "hash": entry.hash})
    return Pruned(made, deleted, cut + 1)


def _last_before(log: AuditLog, moment: str, size: int) -> int:
    """The seq of the last entry written before ``moment`` (0: none), at most ``size``."""
    with log.sessions() as db:
        found = db.scalar(select(func.max(AuditRow.seq)).where(AuditRow.time < moment,
                                                             AuditRow.seq <= size))
    return int(found or 0)


def _delete(log: AuditLog, through: int, batch: int) -> int:
    """Deletes entries ``<= through``, ``batch`` at a time; how many were deleted."""
    deleted = 0
    while True:
        with dbm.transaction(log.sessions) as db:
            low = db.scalar(select(func.min(AuditRow.seq)))
            if low is None or low > through:
                return deleted
            upper = min(through, low + batch - 1)
            result = db.execute(delete(AuditRow).where(AuditRow.seq <= upper))
            deleted += int(result.rowcount)  # type: ignore[attr-defined]
