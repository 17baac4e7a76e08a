"""PostgreSQL pool without pre-ping: a dropped connection fails one use, then the pool heals.

``idp.db.make_engine`` handles disconnects optimistically (no ``SELECT 1`` at each checkout): this
states what that costs when the server drops its connections (a restart, a failover).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from idp import db
from idp.app import create_app, services_of
from idp.settings import Settings
from tests.support.postgres import Cluster, drop_connections, free_port

pytestmark = pytest.mark.postgres


def test_after_the_server_drops_connections_one_use_fails_and_the_next_reconnect(
        pg_cluster: Cluster) -> None:
    url = pg_cluster.create_database()
    engine = db.make_engine(url, pool_size=3)
    try:
        connections = [engine.connect() for _ in range(3)]  # three pooled connections
        for connection in connections:
            connection.close()
        drop_connections(url)
        with pytest.raises(DBAPIError) as failed, engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        assert failed.value.connection_invalidated
        # The failure invalidated the whole pool: the other two stale ones are not handed out.
        for _ in range(3):
            with engine.connect() as connection:
                assert connection.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()



def test_the_request_that_meets_a_dropped_connection_gets_503_try_again_not_500(
        pg_cluster: Cluster, tmp_path: Path) -> None:
    url = pg_cluster.create_database()
    db.upgrade(url)
    app = create_app(Settings(var_dir=tmp_path / "var", database_url=url))
    client = app.test_client()
    unknown = {"Accept": "application/json"}
    try:
        assert client.get("/interaction/nope", headers=unknown).status_code == 404  # pooled
        drop_connections(url)
        failed = client.get("/interaction/nope", headers=unknown)
        assert failed.status_code == 503
        assert failed.headers["Retry-After"] == "1"
        assert failed.get_json()["error"] == "temporarily_unavailable"
        assert "もう一度" in failed.get_json()["error_description"]  # Japanese by default
        assert client.get("/interaction/nope", headers=unknown).status_code == 404
    finally:
        services_of(app).engine.dispose()


def test_while_the_server_refuses_connections_flask_and_the_token_endpoint_answer_503(
        tmp_path: Path) -> None:
    """No connection can be had at all (the server is down or restarting): the Flask app's ORM
    path and the token endpoint's raw connections both answer 503 "try again", not 500."""
    url = f"postgresql+psycopg://idp@127.0.0.1:{free_port()}/idp"  # nobody listens there
    app = create_app(Settings(var_dir=tmp_path / "var", database_url=url))
    client = app.test_client()
    try:
        page = client.get("/interaction/nope", headers={"Accept": "application/json"})
        token = client.post("/token", data={"grant_type": "authorization_code", "code": "c"},
                            auth=("client", "secret"))
        for answer in (page, token):
            assert answer.status_code == 503, answer.get_data(as_text=True)
            assert answer.headers["Retry-After"] == "1"
            assert answer.get_json()["error"] == "temporarily_unavailable"
    finally:
        services_of(app).engine.dispose()
