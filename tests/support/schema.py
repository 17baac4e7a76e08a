"""The migrated schema against the models: what Alembic's autogenerate would still change."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from idp import db
from idp.migrations import models


def differences(database_url: str, table: str) -> list[Any]:
    """Alembic's differences between the migrated database and the models that name ``table``
    (a table name or a part of one); [] when the migrations build what the models describe."""
    engine = db.make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            found = compare_metadata(context, models.Base.metadata)
    finally:
        engine.dispose()
    return [d for d in found if table in repr(d)]
