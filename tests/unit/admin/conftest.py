"""An IdP whose /admin runs on http://localhost, on SQLite (``app``) or on both databases
(``db_app``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from idp.app import create_app, services_of
from idp.settings import Settings
from tests.support.admin import Admin, admin_settings, signed_in


@pytest.fixture
def app(sqlite_settings: Settings) -> Iterator[Flask]:
    application = create_app(admin_settings(sqlite_settings))
    yield application
    services_of(application).engine.dispose()


@pytest.fixture
def db_app(settings: Settings) -> Iterator[Flask]:
    application = create_app(admin_settings(settings))
    yield application
    services_of(application).engine.dispose()


@pytest.fixture
def admin(app: Flask) -> Admin:
    return signed_in(app, "alice", "admin")


@pytest.fixture
def auditor(app: Flask) -> Admin:
    return signed_in(app, "olivia", "auditor")


@pytest.fixture
def support(app: Flask) -> Admin:
    return signed_in(app, "sam", "support")
