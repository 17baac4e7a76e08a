"""`idp events`: the Security Event Tokens owed to relying parties (Shared Signals)."""

from __future__ import annotations

import click

from idp.cli.support import echo_json, services


@click.group("events")
def events_group() -> None:
    """Change events to relying parties (Shared Signals: CAEP and RISC)."""


@events_group.command("deliver")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"delivered", "failed", "retrying"} (counts; retrying: stream ids).')
def deliver(as_json: bool) -> None:
    """Push the events whose time has come (for cron; every `idp serve` worker does it too)."""
    from idp.events import push

    with services() as built:
        report = push.deliver_due(built.events, streams=10_000)
    retrying = sorted(set(report.retrying))
    if as_json:
        echo_json({"delivered": report.delivered, "failed": report.failed,
                   "retrying": retrying})
    else:
        click.echo(f"delivered {report.delivered}, gave up {report.failed}, "
                   f"{len(retrying)} stream(s) will retry")
