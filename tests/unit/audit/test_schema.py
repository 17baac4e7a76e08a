"""Migrations 0017 and 0020 build the tables the audit models describe, on both databases."""

from __future__ import annotations

import pytest

from tests.support.schema import differences


def test_the_audit_migration_matches_the_models(database_url: str) -> None:
    assert differences(database_url, "audit") == []


def test_the_retention_migration_downgrades_and_upgrades_again(database_url: str) -> None:
    """0020 (prune records, DELETE behind one) undone leaves the log append-only as 0017 made
    it; upgraded again it matches the models."""
    import sqlalchemy as sa
    from alembic import command

    from idp import db

    db.upgrade(database_url)
    command.downgrade(db.alembic_config(database_url), "0018_metering")
    engine = sa.create_engine(database_url)
    try:
        assert "audit_prunes" not in sa.inspect(engine).get_table_names()
        with engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO audit_log (seq, time, actor, action, outcome, details, prev_hash, "
                "hash) VALUES (1, 't', 'system', 'x', 'ok', '{}', 'p', 'h')"))
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM audit_log"))
    finally:
        engine.dispose()
    db.upgrade(database_url)
    assert differences(database_url, "audit") == []
