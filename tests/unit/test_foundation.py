"""The foundation: settings precedence, the CLI's exit codes, migrations on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from idp.cli import cli
from idp.settings import Settings, load_settings


def test_settings_file_is_overridden_by_environment_and_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "idp.toml"
    config.write_text('default_language = "en"\n[jlis]\nurl = "http://file"\ntimeout_seconds = 9\n')
    monkeypatch.setenv("IDP_JLIS__URL", "http://env")
    settings = load_settings(config, var_dir=tmp_path / "args")
    assert settings.default_language == "en"
    assert settings.jlis.url == "http://env"
    assert settings.jlis.timeout_seconds == 9
    assert settings.var_dir == tmp_path / "args"


def test_settings_are_frozen_and_reject_unknown_keys(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    with pytest.raises(ValueError, match="frozen"):
        settings.var_dir = Path("/elsewhere")  # type: ignore[misc]
    with pytest.raises(ValueError, match="Extra inputs"):
        Settings(var_dir=tmp_path, no_such_setting=1)  # type: ignore[call-arg]


def test_default_database_is_sqlite_under_var_dir(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    expected = f"sqlite:///{(tmp_path / 'var').resolve()}/idp.sqlite3"
    assert settings.effective_database_url == expected


def test_cli_usage_error_exits_2_and_help_works_on_every_level() -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["--help"]).exit_code == 0
    assert runner.invoke(cli, ["db", "--help"]).exit_code == 0
    assert runner.invoke(cli, ["no-such-command"]).exit_code == 2


def test_db_upgrade_creates_the_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_VAR_DIR", str(tmp_path / "var"))
    result = CliRunner().invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'var' / 'idp.sqlite3'}")
    assert "alembic_version" in sa.inspect(engine).get_table_names()


def test_migrations_apply_on_both_databases(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        version = connection.execute(sa.text("select version_num from alembic_version")).all()
    engine.dispose()
    from alembic.script import ScriptDirectory

    from idp.db import alembic_config

    heads = ScriptDirectory.from_config(alembic_config(database_url)).get_heads()
    assert {row[0] for row in version} == set(heads), "the database is not at every head"


def test_configuration_reference_lists_every_setting_with_its_variable() -> None:
    from idp.cli.config import render_reference

    reference = render_reference()
    assert "`IDP_JLIS__URL`" in reference
    assert "`IDP_TRUST__SIGN__MAX_CRL_STALENESS_SECONDS`" in reference
    assert "`IDP_VAR_DIR`" in reference


def test_config_show_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_JLIS__API_KEY", "very-secret-key")
    result = CliRunner().invoke(cli, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert "very-secret-key" not in result.output
    assert '"api_key": "***"' in result.output
