"""Authorization codes live 60 s at most (issue 4, RFC 9700): longer is refused at load."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from idp.settings import load_settings


def test_a_code_lifetime_of_60_seconds_or_less_loads(tmp_path: Path) -> None:
    config = tmp_path / "idp.toml"
    config.write_text("[oidc]\ncode_lifetime_seconds = 30\n")
    assert load_settings(config, var_dir=tmp_path).oidc.code_lifetime_seconds == 30
    assert load_settings(None, var_dir=tmp_path).oidc.code_lifetime_seconds == 60


@pytest.mark.parametrize("seconds", ["61", "600", "0"])
def test_a_code_lifetime_outside_1_to_60_seconds_is_refused_with_the_reason(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seconds: str) -> None:
    monkeypatch.setenv("IDP_OIDC__CODE_LIFETIME_SECONDS", seconds)
    with pytest.raises(ValidationError,
                       match=f"code_lifetime_seconds must be between 1 and 60 seconds .*{seconds}"):
        load_settings(None, var_dir=tmp_path)
