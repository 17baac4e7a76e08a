"""``idp recheck`` sees life events without anyone logging in (change detection)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from idp.cli.recheck import recheck
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


def _changes_to(report: dict[str, object], state: str) -> list[dict[str, str]]:
    return [c for c in report["changes"] if c["to"] == state]  # type: ignore[attr-defined]


def test_recheck_follows_a_move_then_a_death(idp: Idp, tmp_path: Path) -> None:
    goro = person(idp.sim, tmp_path, "井上　五郎")
    _onboard(idp, goro["card_file"])
    _card_login(idp, goro["card_file"])
    idp.sim.cli("person", "move", goro["person_id"], "--address", "宮城県仙台市青葉区1-1")
    moved = _changes_to(_run(idp, "--all"), "needs_reissue")
    assert [c["reason"] for c in moved] == ["sign_revoked:affiliation_changed"], moved
    idp.sim.cli("person", "die", goro["person_id"])
    closed = _changes_to(_run(idp, "--all"), "closed")
    assert [c["private_id"] for c in closed] == [moved[0]["private_id"]], closed


def test_recheck_restores_a_card_found_again(idp: Idp, tmp_path: Path) -> None:
    roku = person(idp.sim, tmp_path, "木村　六子", birth="1979-06-06")
    _onboard(idp, roku["card_file"])
    _card_login(idp, roku["card_file"])
    idp.sim.cli("person", "lose-card", roku["person_id"])
    lost = _changes_to(_run(idp, "--all"), "suspended")
    assert len(lost) == 1, lost
    idp.sim.cli("person", "found-card", roku["person_id"])
    found = _changes_to(_run(idp, "--all"), "current")
    assert [(c["private_id"], c["from"]) for c in found] == [(lost[0]["private_id"],
                                                              "suspended")], found


def test_recheck_refuses_all_and_due_together(idp: Idp) -> None:
    result = CliRunner().invoke(recheck, ["--all", "--due"], obj={"settings": idp.settings})
    assert result.exit_code == 2
