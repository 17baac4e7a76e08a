"""The token endpoint's prepared statements after PostgreSQL drops its connections: the one
exchange that meets a dead connection gets 503 "try again", and the pool heals."""

from __future__ import annotations

from pathlib import Path

import pytest

from idp import db
from idp.app import create_app, services_of
from idp.settings import Settings
from tests.support.postgres import Cluster, drop_connections
from tests.unit.oidc.conftest import ISSUER, Rp, register

pytestmark = pytest.mark.postgres


def test_an_exchange_on_a_dropped_connection_gets_503_and_the_next_one_succeeds(
        pg_cluster: Cluster, tmp_path: Path) -> None:
    url = pg_cluster.create_database()
    db.upgrade(url)
    settings = Settings(var_dir=tmp_path / "var", database_url=url)
    app = create_app(settings.model_copy(update={"oidc": settings.oidc.model_copy(
        update={"issuer": ISSUER})}))
    client_id, secret = register(app)
    rp = Rp(app, app.test_client(), client_id, secret)
    try:
        rp.login()
        first = rp.code()
        assert rp.exchange(*rp.code()).status_code == 200  # a pooled connection
        drop_connections(url)
        failed = rp.exchange(*first)
        assert failed.status_code == 503
        assert failed.headers["Retry-After"] == "1"
        assert failed.get_json()["error"] == "temporarily_unavailable"
        assert rp.exchange(*first).status_code == 200  # nothing was saved: the code still works
    finally:
        services_of(app).engine.dispose()
