"""The passkey tables as migrated are the tables the models describe, on both engines."""

from __future__ import annotations

from tests.support import schema


def test_the_passkeys_migration_matches_the_models(database_url: str) -> None:
    assert schema.differences(database_url, "passkey") == []
