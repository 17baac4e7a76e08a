"""``idp metering report``: the validity checks made for each relying party in a month, priced.

``--json`` prints ``{"month", "currency", "rows": [...], "total": {...}}``; ``--csv`` a header
line and one line per row; without either, a table for a terminal. Rows: ``month, client_id,
kind (sign|auth), method (ocsp|crl), checks, charged, unit_yen, yen`` (docs/operations.md,
"Metering": what ``charged`` counts for each method).
"""

from __future__ import annotations

import click

from idp.cli.support import echo_json, services
from idp.metering import BadMonthError, parse_month
from idp.metering.report import as_csv, as_json, totals


@click.group("metering")
def metering_group() -> None:
    """What the validity checks made for relying parties cost."""


def _month(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    try:
        return parse_month(value)
    except BadMonthError as error:
        raise click.BadParameter(error.description) from error


@metering_group.command("report")
@click.option("--month", required=True, metavar="YYYY-MM", callback=_month,
              help="The month (Japan time).")
@click.option("--json", "json_out", is_flag=True, help="The report as JSON.")
@click.option("--csv", "csv_out", is_flag=True, help="The report as CSV.")
def report(month: str, json_out: bool, csv_out: bool) -> None:
    """Checks per relying party, kind and method in MONTH, with their price in yen."""
    if json_out and csv_out:
        raise click.UsageError("give --json or --csv, not both")
    with services() as built:
        rows = built.metering.report(month)
    if json_out:
        echo_json(as_json(month, rows))
        return
    if csv_out:
        click.echo(as_csv(rows), nl=False)
        return
    click.echo(f"{'client_id':<32} {'kind':<5} {'method':<6} {'checks':>8} {'charged':>8} "
               f"{'yen':>10}")
    for row in rows:
        click.echo(f"{row.client_id:<32} {row.kind:<5} {row.method:<6} {row.checks:>8} "
                   f"{row.charged:>8} {row.yen:>10,}")
    total = totals(rows)
    click.echo(f"{'total ' + month:<45} {total.checks:>8} {total.charged:>8} {total.yen:>10,}")
