"""`idp db`: schema migrations."""

from __future__ import annotations

import click

from idp import db
from idp.cli_support import get_settings


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

