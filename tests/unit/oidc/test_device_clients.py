"""Device clients: `idp clients add --device`, the migration that stores their grant types."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from idp import db
from idp.bootstrap import Services
from idp.cli import cli
from idp.oidc.clients import DEFAULT_GRANT_TYPES, ClientCache
from idp.oidc.models import Client
from idp.settings import Settings
from tests.support import schema

GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("IDP_VAR_DIR", str(tmp_path / "var"))
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    return runner


def test_clients_add_device_registers_a_public_client_without_redirect_uri(
        var: CliRunner) -> None:
    result = var.invoke(cli, ["clients", "add", "--name", "Living-room TV", "--device",
                              "--json"])
    assert result.exit_code == 0, result.output
    registered = json.loads(result.output)
    assert registered["client_id"].startswith("rp_")
    assert registered["client_secret"] is None
    plain = var.invoke(cli, ["clients", "add", "--name", "Box", "--device"])
    assert plain.exit_code == 0
    assert plain.output.startswith("client_id: rp_")


def test_a_device_client_is_public_and_allowed_the_device_grant_only(
        sqlite_settings: Settings) -> None:
    from idp.oidc.clients import register, register_device

    services = Services.build(sqlite_settings)
    try:
        with db.transaction(services.sessions) as session:
            tv = register_device(session, name="TV")
            web, _ = register(session, name="Web", redirect_uris=["https://rp.example/cb"])
        with services.sessions() as session:
            found = ClientCache().get(session, tv)
            assert found.public
            assert found.redirect_uris == ()
            assert found.grant_types == (GRANT, "refresh_token")
            assert found.sector_identifier == tv  # its subjects are its own
            assert ClientCache().get(session, web).grant_types == DEFAULT_GRANT_TYPES
            assert session.scalar(select(Client.grant_types).where(
                Client.client_id == web)) is None
    finally:
        services.close()


def test_device_and_redirect_uri_together_are_a_usage_error(var: CliRunner) -> None:
    both = var.invoke(cli, ["clients", "add", "--name", "TV", "--device", "--redirect-uri",
                            "https://tv.example/cb"])
    assert both.exit_code == 2
    neither = var.invoke(cli, ["clients", "add", "--name", "RP"])
    assert neither.exit_code == 2
    assert "--redirect-uri is required" in neither.output


def test_migration_0014_matches_the_device_models(database_url: str) -> None:
    assert schema.differences(database_url, "oidc_device_authorizations") == []
    assert schema.differences(database_url, "grant_types") == []
