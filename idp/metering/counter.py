"""Counting validity checks as they are made: one UPSERT per check, in its own short transaction.

A check by OCSP adds one to its (month, relying party, kind, "ocsp") row; a check by CRL adds one
to its "crl" row and records the certificate for the month (``INSERT ... ON CONFLICT DO
NOTHING``), which is what is charged. Both statements are atomic on SQLite and PostgreSQL, so
concurrent workers and nodes never lose a count. A counting failure is logged and counted in
``idp_metering_failures_total``, never turned into a refused login: the check itself was made.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from idp import db as dbm
from idp import metrics
from idp.metering.context import charged_client
from idp.metering.models import MeteredChecks, MeteredCrlCertificate

log = logging.getLogger(__name__)

JST = timezone(timedelta(hours=9), "JST")  # J-LIS bills by the Japanese calendar month
KINDS = ("sign", "auth")
# OCSP and CRL answer for a certificate's validity; J-LIS also charges its serial-link, 4-info
# and age answers as a check of the purpose of the serial they name (docs/jlis-api.md).
METHODS = ("ocsp", "crl", "link", "basic4", "age")
_BATCH = 1000  # certificates per INSERT of a batch re-check


def month_of(at: datetime) -> str:
    """The billing month ("YYYY-MM", Japan time) of a check made at ``at``."""
    return at.astimezone(JST).strftime("%Y-%m")


def certificate_key(authority_key_id: bytes | None, serial_hex: str) -> str:
    """How a certificate is told apart in the CRL rows: its issuer's key id and its serial."""
    return f"{(authority_key_id or b'').hex()}:{serial_hex.lower()}"[:128]


class Meter:
    """Counts the validity checks made for relying parties (see the module docstring)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def checked(self, kind: str, method: str, certificate: str, at: datetime) -> None:
        """J-LIS answered for one certificate by ``method`` (see METHODS) now."""
        self.checked_many(kind, method, (certificate,), at)

    def checked_many(self, kind: str, method: str, certificates: Collection[str],
                     at: datetime) -> None:
        """Many certificates' status came from one ``method`` at once (a batch re-check)."""
        if kind not in KINDS or method not in METHODS or not certificates:
            return
        client, month = charged_client(), month_of(at)
        try:
            with dbm.transaction(self._sessions) as db:
                db.execute(_add(db, month, client, kind, method, len(certificates)))
                if method == "crl":
                    for chunk in _chunks(certificates):
                        db.execute(_remember(db, month, client, kind, chunk))
        except SQLAlchemyError:
            metrics.metering_failure()
            log.exception("metering: %d %s check(s) by %s for %s not counted",
                          len(certificates), kind, method, client)


def _insert(db: Session) -> Any:
    """The dialect's INSERT, which has ON CONFLICT (SQLite ≥ 3.24 and PostgreSQL share it)."""
    return postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert


def _add(db: Session, month: str, client: str, kind: str, method: str, count: int) -> Insert:
    """INSERT ... ON CONFLICT DO UPDATE SET count = count + n (atomic on both databases)."""
    row = MeteredChecks
    statement = _insert(db)(row).values(month=month, client_id=client, kind=kind, method=method,
                                        count=count)
    upsert: Insert = statement.on_conflict_do_update(
        index_elements=[row.month, row.client_id, row.kind, row.method],
        set_={"count": row.count + count})
    return upsert


def _remember(db: Session, month: str, client: str, kind: str,
              certificates: Iterable[str]) -> Insert:
    row = MeteredCrlCertificate
    statement = _insert(db)(row).values([
        {"month": month, "client_id": client, "kind": kind, "certificate": certificate}
        for certificate in certificates])
    ignore: Insert = statement.on_conflict_do_nothing(
        index_elements=[row.month, row.client_id, row.kind, row.certificate])
    return ignore


def _chunks(items: Collection[str]) -> Iterable[list[str]]:
    values = list(dict.fromkeys(items))
    return (values[start:start + _BATCH] for start in range(0, len(values), _BATCH))
