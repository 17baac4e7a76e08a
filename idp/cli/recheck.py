"""``idp recheck``: the change-detection run over every stored anchor.

Each live anchor (not superseded, private ID not closed) is re-checked exactly as at a login
(``AnchorChecker``: revocation now, ``anchor_policy``, the result recorded and the private ID
suspended, closed or re-activated). ``--due`` re-checks only anchors not checked for
``--older-than-hours``. The printout counts the anchors per state; ``--json`` also lists every
anchor whose state changed.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import click
from sqlalchemy import Select, or_, select

from idp.accounts.jpki_models import JpkiAnchor
from idp.accounts.models import PrivateId
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
        with built.sessions() as session:
            before = {pid: state for pid, state in session.execute(_live(cutoff))}
        states: Counter[str] = Counter()
        changes = []
        for private_id, previous in sorted(before.items()):
            check = built.anchors.check(private_id)
            states[check.state.value] += 1
            if check.state.value != previous:
                changes.append({"private_id": private_id, "from": previous,
                                "to": check.state.value, "reason": check.reason})
    if as_json:
        echo_json({"checked": len(before), "states": dict(states), "changes": changes})
        return
    summary = ", ".join(f"{state}: {n}" for state, n in sorted(states.items())) or "none"
    click.echo(f"re-checked {len(before)} anchor(s) ({summary}); {len(changes)} changed")


def _live(cutoff: datetime | None) -> Select[str, str]:
    query = (select(JpkiAnchor.private_id, JpkiAnchor.state)
             .join(PrivateId, PrivateId.id == JpkiAnchor.private_id)
             .where(JpkiAnchor.superseded_by.is_(None), PrivateId.state != "closed"))
    if cutoff is not None:
        query = query.where(or_(JpkiAnchor.last_checked_at.is_(None),
                                JpkiAnchor.last_checked_at < cutoff))
    return query
