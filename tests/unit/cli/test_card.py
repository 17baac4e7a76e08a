"""`idp card` on a virtual card file (in-process): confirmation, hidden PIN, guarded last try."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from idp.cli import cli
from tests.support.card_requests import card_request, serving
from tests.support.cards import AUTH_PIN, make_card
from trust import cardfile


def test_info_on_a_card_file_prints_json(tmp_path: Path) -> None:
    card = make_card(tmp_path / "card.json")
    result = CliRunner().invoke(cli, ["card", "info", "--card-file", str(card.path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["pin_tries_left"] == {"sign": 5, "auth": 3}


def test_sign_asks_for_confirmation_and_a_hidden_pin(tmp_path: Path) -> None:
    card = make_card(tmp_path / "card.json")
    with serving(card_request("login", "auth")) as idp:
        result = CliRunner().invoke(cli, ["card", "sign", idp.url, "--card-file", str(card.path)],
                                    input=f"y\n{AUTH_PIN}\n")
    assert result.exit_code == 0, result.output
    assert "Relying party: Test Bank" in result.output
    assert AUTH_PIN not in result.output  # hidden input is not echoed
    assert len(idp.answers) == 1


def test_declining_the_confirmation_signs_nothing(tmp_path: Path) -> None:
    card = make_card(tmp_path / "card.json")
    with serving(card_request("login", "auth")) as idp:
        result = CliRunner().invoke(cli, ["card", "sign", idp.url, "--card-file", str(card.path)],
                                    input="n\n")
    assert result.exit_code == 1
    assert not idp.answers


def test_trace_masks_the_pin(tmp_path: Path) -> None:
    card = make_card(tmp_path / "card.json")
    with serving(card_request("login", "auth")) as idp:
        result = CliRunner().invoke(cli, ["card", "sign", idp.url, "--card-file", str(card.path),
                                          "--pin", AUTH_PIN, "--yes", "--trace"])
    assert result.exit_code == 0, result.output
    assert "> 00 20 00 80 04 ** ** ** **" in result.output
    assert "31 32 33 34" not in result.output


def test_the_last_try_is_refused_without_force_and_spends_nothing(tmp_path: Path) -> None:
    card = make_card(tmp_path / "card.json", auth_tries=1)
    with serving(card_request("login", "auth")) as idp:
        result = CliRunner().invoke(cli, ["card", "sign", idp.url, "--card-file", str(card.path),
                                          "--pin", "0000", "--yes"])
    assert result.exit_code == 1
    assert "--force" in result.output
    slot = cardfile.load(card.path).auth
    assert slot is not None
    assert slot.tries_left == 1


def test_a_pin_of_the_wrong_form_spends_no_try(tmp_path: Path) -> None:
    card = make_card(tmp_path / "card.json")
    with serving(card_request("onboard", "sign")) as idp:
        result = CliRunner().invoke(cli, ["card", "sign", idp.url, "--card-file", str(card.path),
                                          "--pin", "abc", "--yes"])
    assert result.exit_code == 1
    assert "no try was spent" in result.output
    slot = cardfile.load(card.path).sign
    assert slot is not None
    assert slot.tries_left == 5
