"""Migration 0015 builds exactly the administrators' tables, the account locks and the new
relying-party columns the models describe, on SQLite and PostgreSQL, and downgrades cleanly."""

from __future__ import annotations

import sqlalchemy as sa

from idp import db
from tests.support.schema import differences


def test_the_migration_builds_what_the_models_describe(database_url: str) -> None:
    for table in ("admin_", "account_locks", "oidc_clients"):
        assert differences(database_url, table) == [], table


def test_the_migration_downgrades_and_upgrades_again(database_url: str) -> None:
    from alembic import command

    config = db.alembic_config(database_url)
    command.downgrade(config, "0014_device_authorization")  # the revision before 0015
    engine = sa.create_engine(database_url)
    try:
        tables = sa.inspect(engine).get_table_names()
        columns = {c["name"] for c in sa.inspect(engine).get_columns("oidc_clients")}
    finally:
        engine.dispose()
    assert "admin_users" not in tables
    assert "account_locks" not in tables
    assert "disabled_at" not in columns
    db.upgrade(database_url)
    assert differences(database_url, "admin_") == []
