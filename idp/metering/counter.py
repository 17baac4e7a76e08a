"""Counting validity checks as they are made: one UPSERT, alone or in the caller's write.

A check by OCSP adds one to its (month, relying party, kind, "ocsp") row; a check by CRL adds one
to its "crl" row and records the certificate for the month (``INSERT ... ON CONFLICT DO
NOTHING``), which is what is charged. Both statements are atomic on SQLite and PostgreSQL, so
concurrent workers and nodes never lose a count. On the login path the anchor re-check opens
:meth:`Meter.deferred` and writes the counts in the transaction that records its result
(:meth:`Meter.write_pending`): no transaction of their own (docs/operations.md, "Metering"),
and on PostgreSQL no round trip of their own either: the UPSERT of all the counted rows is a
deferred write (``idp.prepared.defer_on``), sent with the transaction's next statement.
Counted alone, a failure is logged and counted in ``idp_metering_failures_total``, never turned
into a refused login: the check itself was made.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Insert, bindparam, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from idp import db as dbm
from idp import metrics
from idp.metering.context import charged_client
from idp.metering.models import MeteredChecks, MeteredCrlCertificate
from idp.prepared import Prepared, defer_on

log = logging.getLogger(__name__)

JST = timezone(timedelta(hours=9), "JST")  # J-LIS bills by the Japanese calendar month
KINDS = ("sign", "auth")
# OCSP and CRL answer for a certificate's validity; J-LIS also charges its serial-link, 4-info
# and age answers as a check of the purpose of the serial they name (docs/jlis-api.md).
METHODS = ("ocsp", "crl", "link", "basic4", "age")
_BATCH = 1000  # certificates per INSERT of a batch re-check
_RECORDED_MAX = 100_000  # CRL certificates remembered per process


def month_of(at: datetime) -> str:
    """The billing month ("YYYY-MM", Japan time) of a check made at ``at``."""
    return at.astimezone(JST).strftime("%Y-%m")


def certificate_key(authority_key_id: bytes | None, serial_hex: str) -> str:
    """How a certificate is told apart in the CRL rows: its issuer's key id and its serial."""
    return f"{(authority_key_id or b'').hex()}:{serial_hex.lower()}"[:128]


@dataclass(frozen=True)
class _Count:
    month: str
    client: str
    kind: str
    method: str
    checks: int
    certificates: list[str]  # CRL certificates to record (none for other methods)


@dataclass
class _Deferred:
    waiting: list[_Count] = field(default_factory=list)
    written: list[_Count] = field(default_factory=list)  # committed in the caller's transaction


@dataclass
class _Settled:
    """Counts written in a caller's transaction: counted once it commits, waiting again when it
    ends otherwise (rolled back, or its connection lost). The first of the two settles them: a
    later transaction of the same session has nothing to do with them."""

    pending: _Deferred
    counts: list[_Count]
    done: bool = False

    def committed(self, _db: Session) -> None:
        if not self.done:
            self.done = True
            self.pending.written += self.counts

    def ended(self, _db: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None and not self.done:  # the root: after_commit came first
            self.done = True
            self.pending.waiting += self.counts


# The counts written in a session's transaction, settled as it ends (below): one listener for
# every session, not one registered per write (``event.listen`` costs more than the write).
_SETTLING = "idp_metering_settling"


@event.listens_for(Session, "after_commit")
def _committed(db: Session) -> None:
    for settled in db.info.pop(_SETTLING, ()):
        settled.committed(db)


@event.listens_for(Session, "after_transaction_end")
def _ended(db: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the root: after_commit came first when it committed
        for settled in db.info.pop(_SETTLING, ()):
            settled.ended(db, transaction)


# Counts waiting for the transaction of the caller that opened ``Meter.deferred`` (a login's
# anchor re-check writes them with its result: no transaction of their own on the login path).
_PENDING: ContextVar[_Deferred | None] = ContextVar("idp_metering_pending", default=None)


class Meter:
    """Counts the validity checks made for relying parties (see the module docstring)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        # CRL certificates this process has recorded this month: a repeated lookup (each login
        # of one person) skips the INSERT it would ignore anyway. Bounded; forgetting only costs
        # a statement.
        self._recorded: set[tuple[str, str, str, str]] = set()

    def checked(self, kind: str, method: str, certificate: str, at: datetime) -> None:
        """J-LIS answered for one certificate by ``method`` (see METHODS) now."""
        self.checked_many(kind, method, (certificate,), at)

    def checked_many(self, kind: str, method: str, certificates: Collection[str],
                     at: datetime) -> None:
        """Many certificates' status came from one ``method`` at once (a batch re-check)."""
        if kind not in KINDS or method not in METHODS or not certificates:
            return
        client, month = charged_client(), month_of(at)
        new = [] if method != "crl" else [c for c in dict.fromkeys(certificates)
                                          if (month, client, kind, c) not in self._recorded]
        count = _Count(month, client, kind, method, len(certificates), new)
        pending = _PENDING.get()
        if pending is not None:
            pending.waiting.append(count)
        elif self._write_alone([count]):
            self._remember([count])

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Counts made inside the block wait for the caller's own write transaction
        (:meth:`write_pending`, inside the block, the transaction ending in it too); what it did
        not write, or wrote in a transaction that rolled back, is written alone when the block
        ends, so no check goes uncounted and none twice."""
        pending = _Deferred()
        token = _PENDING.set(pending)
        try:
            yield
        finally:
            _PENDING.reset(token)
            if pending.waiting and self._write_alone(pending.waiting):
                self._remember(pending.waiting)
            self._remember(pending.written)  # committed with the caller's transaction

    def write_pending(self, db: Session) -> None:
        """Write the counts deferred so far in ``db``'s transaction (the caller commits; a
        transaction that rolls back instead gives them back to the block, which writes them
        alone)."""
        pending = _PENDING.get()
        if pending is not None and pending.waiting:
            counts, pending.waiting = pending.waiting, []
            _write(db, counts)
            db.info.setdefault(_SETTLING, []).append(_Settled(pending, counts))

    def _write_alone(self, counts: list[_Count]) -> bool:
        try:
            with dbm.transaction(self._sessions) as db:
                _write(db, counts)
        except SQLAlchemyError:
            metrics.metering_failure()
            log.exception("metering: %s not counted", ", ".join(
                f"{c.checks} {c.kind} check(s) by {c.method} for {c.client}" for c in counts))
            return False
        return True

    def _remember(self, counts: list[_Count]) -> None:
        for count in counts:
            if len(count.certificates) <= _BATCH:  # a login's, not a batch re-check's million
                if len(self._recorded) + len(count.certificates) > _RECORDED_MAX:
                    self._recorded.clear()
                self._recorded.update((count.month, count.client, count.kind, c)
                                      for c in count.certificates)


def _write(db: Session, counts: list[_Count]) -> None:
    """The counts, added up per row, as one UPSERT of all the rows (a login's check of its two
    certificates: one statement, deferred to the transaction's next one: ``idp.prepared``), and
    their CRL certificates' INSERT ... DO NOTHING (executemany, in batches)."""
    connection = db.connection()
    dialect = connection.dialect.name
    totals: dict[tuple[str, str, str, str], int] = {}
    for c in counts:
        key = (c.month, c.client, c.kind, c.method)
        totals[key] = totals.get(key, 0) + c.checks
    rows = list(totals.items())
    for start in range(0, len(rows), _ROWS):
        chunk = rows[start:start + _ROWS]
        defer_on(connection, _adding(dialect, len(chunk)), {
            f"{name}_{index}": value for index, (key, checks) in enumerate(chunk)
            for name, value in zip(_ADDED, (*key, checks), strict=True)})
    remember = _remembering(dialect)
    certificates = [{"month": c.month, "client_id": c.client, "kind": c.kind,
                     "certificate": certificate} for c in counts for certificate in c.certificates]
    for start in range(0, len(certificates), _BATCH):
        connection.execute(remember, certificates[start:start + _BATCH])


_ADDED = ("month", "client_id", "kind", "method", "count")
_ROWS = 16  # rows per UPSERT: each row a distinct (month, client, kind, method)


def _insert(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


@functools.cache
def _adding(dialect: str, rows: int) -> Prepared:
    """INSERT ... VALUES (row 0), ... ON CONFLICT DO UPDATE SET count = count + excluded.count:
    atomic on both databases (SQLite ≥ 3.24 and PostgreSQL share the syntax); its rows must be
    distinct (one statement updates a row once)."""
    checks = MeteredChecks.__table__
    add = _insert(dialect)(checks).values([{name: bindparam(f"{name}_{index}")
                                            for name in _ADDED} for index in range(rows)])
    return Prepared(add.on_conflict_do_update(
        index_elements=[checks.c.month, checks.c.client_id, checks.c.kind, checks.c.method],
        set_={"count": checks.c.count + add.excluded.count}))


@functools.cache
def _remembering(dialect: str) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING: a certificate is charged once a month."""
    certificates = MeteredCrlCertificate.__table__
    remember: Insert = _insert(dialect)(certificates).on_conflict_do_nothing(
        index_elements=[certificates.c.month, certificates.c.client_id, certificates.c.kind,
                        certificates.c.certificate])
    return remember
