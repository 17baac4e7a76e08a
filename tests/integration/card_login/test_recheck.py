"""``idp recheck`` sees life events without anyone logging in (change detection)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from idp.login.cli_recheck import recheck
from tests.integration.card_login.conftest import Idp, person
from tests.integration.card_login.test_lifecycle_json import _card_login, _onboard


def _run(idp: Idp, *args: str) -> dict[str, object]:
    result = CliRunner().invoke(recheck, [*args, "--json"], obj={"settings": idp.settings})
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.output)
    return data


def test_recheck_suspends_a_lost_card_and_reports_the_change(idp: Idp, tmp_path: Path) -> None:
    ichiro = person(idp.sim, tmp_path, "斎藤　一郎")
    _onboard(idp, ichiro["card_file"])
    browser = _card_login(idp, ichiro["card_file"])
    assert browser.state["prompt"] == "returned"
    idp.sim.cli("person", "lose-card", ichiro["person_id"])
    report = _run(idp, "--all")
    changes = [c for c in report["changes"] if c["to"] == "suspended"]  # type: ignore[union-attr]
    assert any(c["reason"] == "card_revoked:certificate_hold" for c in changes), report
    assert _run(idp, "--due")["checked"] == 0  # everything was just checked


def test_recheck_refuses_all_and_due_together(idp: Idp) -> None:
    result = CliRunner().invoke(recheck, ["--all", "--due"], obj={"settings": idp.settings})
    assert result.exit_code == 2
