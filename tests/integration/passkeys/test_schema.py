"""The passkey tables as migrated are the tables the models describe, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from idp import db, models


def test_the_passkeys_migration_matches_the_models(database_url: str) -> None:
    engine = db.make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, models.Base.metadata)
    finally:
        engine.dispose()
    assert [d for d in differences if "passkey" in repr(d)] == []
