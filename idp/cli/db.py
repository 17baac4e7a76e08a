"""`idp db`: schema migrations and pruning of expired rows."""

from __future__ import annotations

import click

from idp import db
from idp.cli.support import echo_json, get_settings
from idp.maintenance import prune


@click.group("db")
def db_group() -> None:
    """The database (SQLite by default, PostgreSQL from a URL)."""


@db_group.command("upgrade")
@click.option("--revision", default="heads", show_default=True, help="Target revision.")
def upgrade(revision: str) -> None:
    """Apply Alembic migrations to the configured database."""
    settings = get_settings()
    db.upgrade(settings.effective_database_url, revision)
    click.echo(f"database at revision {revision}")



@db_group.command("prune")
@click.option("--margin-seconds", type=click.IntRange(min=0), default=prune.DEFAULT_MARGIN_SECONDS,
              show_default=True, help="Keep rows this long after they expire.")
@click.option("--batch-size", type=click.IntRange(min=1), default=prune.DEFAULT_BATCH_SIZE,
              show_default=True, help="Rows deleted per transaction.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as one JSON object.")
def prune_expired(margin_seconds: int, batch_size: int, as_json: bool) -> None:
    """Delete expired codes, interactions, pushed requests, assertion ids, tokens, card
    requests and passkey challenges (run it from cron every few minutes)."""
    settings = get_settings()
    engine = db.make_engine(settings.effective_database_url)
    try:
        result = prune.prune(db.make_sessionmaker(engine), margin_seconds=margin_seconds,
                             batch_size=batch_size)
    finally:
        engine.dispose()
    if as_json:
        echo_json({"deleted": result.deleted, "total": result.total})
        return
    for table, count in result.deleted.items():
        click.echo(f"{table}: {count} deleted")
    click.echo(f"total: {result.total} deleted")
