"""``idp recheck``: the change-detection run over every stored anchor.

Every live anchor (not superseded, private ID not closed) is re-checked as at a login, a
million at a time from the CRL indexes (``idp.accounts.recheck``; person by person where the
trust policy wants OCSP): the result recorded, the private ID suspended, closed or
re-activated, and the relying parties the person consented to owed an event for each change.
``--due`` re-checks only anchors not checked for ``--older-than-hours``. The printout counts the
anchors per state; ``--json`` also lists every anchor whose state changed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from idp.cli.support import echo_json, services


@click.command("recheck")
@click.option("--all", "run_all", is_flag=True, help="Re-check every anchor (the default).")
@click.option("--due", is_flag=True, help="Only anchors not checked recently.")
@click.option("--older-than-hours", type=click.IntRange(min=0), default=24, show_default=True,
              help="With --due: how old the last check must be.")
@click.option("--json", "as_json", is_flag=True, help="Counts and changes as JSON.")
def recheck(run_all: bool, due: bool, older_than_hours: int, as_json: bool) -> None:
    """Re-check stored anchors with J-LIS and update the account states."""
    if run_all and due:
        raise click.UsageError("give --all or --due, not both")
    cutoff = datetime.now(UTC) - timedelta(hours=older_than_hours) if due else None
    with services() as built:
        report = built.recheck.run(cutoff=cutoff)
    changes = sorted(report.changes, key=lambda change: change["private_id"])
    if as_json:
        echo_json({"checked": report.checked, "states": dict(report.states),
                   "changes": changes})
        return
    summary = ", ".join(f"{state}: {n}" for state, n in sorted(report.states.items())) or "none"
    click.echo(f"re-checked {report.checked} anchor(s) ({summary}); {len(changes)} changed")
