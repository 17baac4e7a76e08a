"""Migration 0017 builds the tables the audit models describe, on both databases."""

from __future__ import annotations

from tests.support.schema import differences


def test_the_audit_migration_matches_the_models(database_url: str) -> None:
    assert differences(database_url, "audit") == []
