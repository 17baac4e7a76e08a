"""`idp sim person ...` refuses bad input with exit 1 and one line, usage errors with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from idp.cli import cli
from idp.settings import Settings


@pytest.fixture
def run(sim_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("IDP_VAR_DIR", str(sim_settings.var_dir))
    return CliRunner()


def _add(runner: CliRunner, tmp_path: Path, *extra: str) -> object:
    return runner.invoke(cli, ["sim", "person", "add", "--name", "山田 太郎", "--birth",
                               "1980-02-17", "--sex", "1", "--card", str(tmp_path / "c.json"),
                               "--json", *extra])


def test_add_prints_the_contract_json(run: CliRunner, tmp_path: Path) -> None:
    result = _add(run, tmp_path, "--address", "東京都港区芝公園4-2-8", "--sign-pin", "ABC123",
                  "--auth-pin", "1234")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"person_id", "card_file", "sign_pin", "auth_pin", "sign_serial",
                         "auth_serial"}
    assert (data["sign_pin"], data["auth_pin"]) == ("ABC123", "1234")


@pytest.mark.parametrize(("extra", "message"), [
    (("--address", "Somewhere 1"), "must start with a prefecture"),
    (("--address", "東京都港区1", "--auth-pin", "12"), "4 digits"),
    (("--address", "東京都港区1", "--sign-pin", "abc"), "upper-case letters and digits"),
])
def test_bad_input_is_refused_with_exit_1(run: CliRunner, tmp_path: Path,
                                          extra: tuple[str, ...], message: str) -> None:
    result = _add(run, tmp_path, *extra)
    assert result.exit_code == 1
    assert message in result.output


def test_a_missing_option_is_a_usage_error(run: CliRunner) -> None:
    assert run.invoke(cli, ["sim", "person", "move", "p-1"]).exit_code == 2
