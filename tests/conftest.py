"""Fixtures shared by every tier: settings in a temp instance, and databases on both engines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from idp import db
from idp.settings import Settings
from tests.support.postgres import Cluster, throwaway_cluster


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--hardware", action="store_true", help="run tests that need a real card")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--hardware"):
        return
    skip = pytest.mark.skip(reason="needs a real reader and card: pytest -m hardware --hardware")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    with throwaway_cluster() as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database: SQLite and the throwaway PostgreSQL cluster, in turn."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'idp.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_cluster").create_database()
    db.upgrade(url)
    return url


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """ORM sessions on the parametrised database."""
    engine = db.make_engine(database_url)
    yield db.make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings of a throwaway instance under tmp_path, on the parametrised database."""
    return Settings(var_dir=tmp_path / "var", database_url=database_url)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """Settings of a throwaway instance on SQLite only (for tests that are not about the DB)."""
    url = f"sqlite:///{tmp_path / 'idp.sqlite3'}"
    db.upgrade(url)
    return Settings(var_dir=tmp_path / "var", database_url=url)


@pytest.fixture(autouse=True)
def _isolated_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read the developer's config/idp.toml or IDP_* environment."""
    import os

    for name in list(os.environ):
        if name.startswith("IDP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("IDP_CONFIG", str(tmp_path / "no-config.toml"))
