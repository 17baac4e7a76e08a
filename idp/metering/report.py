"""The monthly metering report: checks per relying party, kind and method, and their price.

What is charged (docs/operations.md, "Metering"): each OCSP answer (and each serial-link, 4-info
or age answer, which J-LIS charges alike) at the kind's price; for the CRL, each certificate whose
status came from a CRL that month, once, at the kind's price, however often it was looked up (the
CRL rows still show every lookup, as ``checks``). The report is read
by ``idp metering report``, by the admin API (``GET /admin/api/metering?month=``) and by the
admin page's table and chart (``idp.metering.chart``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from idp.errors import IdpError
from idp.metering.models import MeteredChecks, MeteredCrlCertificate
from idp.settings_ops import MeteringSettings

_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
COLUMNS = ("month", "client_id", "kind", "method", "checks", "charged", "unit_yen", "yen")


class BadMonthError(IdpError):
    """Give the month as YYYY-MM (for example 2026-04)."""

    code = "invalid_request"
    status = 400


def parse_month(value: str | None) -> str:
    """``value`` when it names a month as YYYY-MM; refused otherwise."""
    if value is None or not _MONTH.fullmatch(value):
        raise BadMonthError()
    return value


@dataclass(frozen=True)
class MeteringRow:
    """One relying party's checks of one kind by one method in one month, and their price."""

    month: str
    client_id: str
    kind: str  # "sign" | "auth"
    method: str  # "ocsp" | "crl" | "link" | "basic4" | "age"
    checks: int  # every check made
    charged: int  # what is charged: the checks, but the distinct certificates for "crl"
    unit_yen: int
    yen: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Totals:
    checks: int
    charged: int
    yen: int


class MeteringReport:
    """Reads the counters of a month and prices them by the settings' table."""

    def __init__(self, sessions: sessionmaker[Session], prices: MeteringSettings) -> None:
        self._sessions = sessions
        self._prices = {"sign": prices.sign_yen, "auth": prices.auth_yen}

    def report(self, month: str) -> list[MeteringRow]:
        """Every (relying party, kind, method) with checks in ``month`` (YYYY-MM), sorted."""
        month = parse_month(month)
        with self._sessions() as db:
            counts = db.execute(select(MeteredChecks.client_id, MeteredChecks.kind,
                                       MeteredChecks.method, MeteredChecks.count)
                                .where(MeteredChecks.month == month)).all()
            certificates = dict(((client, kind), n) for client, kind, n in db.execute(
                select(MeteredCrlCertificate.client_id, MeteredCrlCertificate.kind,
                       func.count()).where(MeteredCrlCertificate.month == month)
                .group_by(MeteredCrlCertificate.client_id, MeteredCrlCertificate.kind)).all())
        rows = []
        for client, kind, method, checks in counts:
            charged = certificates.get((client, kind), 0) if method == "crl" else checks
            unit = self._prices.get(kind, 0)
            rows.append(MeteringRow(month, client, kind, method, checks, charged, unit,
                                    charged * unit))
        return sorted(rows, key=lambda row: (row.client_id, row.kind, row.method))


def totals(rows: Iterable[MeteringRow]) -> Totals:
    found = list(rows)
    return Totals(sum(row.checks for row in found), sum(row.charged for row in found),
                  sum(row.yen for row in found))


def per_client(rows: Iterable[MeteringRow]) -> dict[str, int]:
    """Yen per relying party (the chart's bars), largest first."""
    yen: dict[str, int] = {}
    for row in rows:
        yen[row.client_id] = yen.get(row.client_id, 0) + row.yen
    return dict(sorted(yen.items(), key=lambda item: (-item[1], item[0])))


def as_json(month: str, rows: Sequence[MeteringRow]) -> dict[str, object]:
    """The report as the CLI's ``--json`` and the admin API answer it."""
    total = totals(rows)
    return {"month": month, "currency": "JPY", "rows": [row.as_dict() for row in rows],
            "total": {"checks": total.checks, "charged": total.charged, "yen": total.yen}}


def as_csv(rows: Sequence[MeteringRow]) -> str:
    """The report as CSV, a header line then one line per row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([getattr(row, column) for column in COLUMNS])
    return out.getvalue()
