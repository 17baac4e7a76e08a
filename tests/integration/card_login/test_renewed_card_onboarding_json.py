"""Onboarding again with a renewed card lands on the existing private ID (issue 5), through
the JSON face only: J-LIS's old→new serial link names the card the IdP already knows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from idp.accounts.jpki_models import Basic4Record, JpkiAnchor
from idp.app import services_of
from tests.integration.card_login.conftest import Idp, person
from tests.integration.card_login.test_lifecycle_json import IAL2, _answer, _card_login, _onboard


def _onboard_again(idp: Idp, card_file: str) -> dict[str, Any]:
    browser = idp.browser()
    browser.authorize()
    browser.agree_to_terms()
    _answer(browser, "onboard", card_file, "ABCD1234")
    state = browser.continue_after_card()
    assert state["prompt"] == "returned", state  # known person, consent given: straight back
    return browser.tokens()


def test_onboarding_with_a_renewed_card_lands_on_the_existing_private_id_with_current_claims(
        idp: Idp, tmp_path: Path) -> None:
    nanami = person(idp.sim, tmp_path, "小林　七海")
    first = _onboard(idp, nanami["card_file"]).tokens()
    idp.sim.cli("person", "move", nanami["person_id"], "--address", "北海道札幌市中央区3-3")
    idp.sim.cli("person", "renew", nanami["person_id"])  # new signing AND auth certificates

    again = _onboard_again(idp, nanami["card_file"])
    assert again["id_token"]["sub"] == first["id_token"]["sub"]
    assert again["id_token"]["acr"] == IAL2
    assert again["userinfo"]["address"]["formatted"] == "北海道札幌市中央区3-3"


def _history(idp: Idp, first_name: str) -> tuple[list[tuple[str, bool]], list[str]]:
    """The 4-info history of the person first certified as ``first_name`` (oldest first), and
    whether each version names the anchor (signing certificate) that carried it, in order."""
    with services_of(idp.app).sessions() as db:
        first = db.query(Basic4Record).filter(
            Basic4Record.basic4["name"].as_string() == first_name).one()
        rows = db.query(Basic4Record).filter(
            Basic4Record.private_id == first.private_id).order_by(Basic4Record.id).all()
        anchors = db.query(JpkiAnchor).filter(
            JpkiAnchor.private_id == first.private_id).order_by(JpkiAnchor.id).all()
        assert [r.anchor_serial for r in rows] == [a.serial_hex for a in anchors]
        assert [a.superseded_by for a in anchors] == [a.serial_hex for a in anchors[1:]] + [None]
        return [(r.basic4["name"], r.current) for r in rows], [r.source for r in rows]


def test_onboarding_with_a_renewed_card_keeps_both_4info_versions(
        idp: Idp, tmp_path: Path) -> None:
    hachiro = person(idp.sim, tmp_path, "加藤　八郎")
    _onboard(idp, hachiro["card_file"])
    idp.sim.cli("person", "rename", hachiro["person_id"], "--name", "加藤　八朗")
    idp.sim.cli("person", "renew", hachiro["person_id"])
    _onboard_again(idp, hachiro["card_file"])
    assert _history(idp, "加藤　八郎") == (
        [("加藤　八郎", False), ("加藤　八朗", True)], ["certificate", "certificate"])


def test_a_reissue_keeps_both_4info_versions(idp: Idp, tmp_path: Path) -> None:
    kuro = person(idp.sim, tmp_path, "吉田　九郎")
    _onboard(idp, kuro["card_file"])
    idp.sim.cli("person", "rename", kuro["person_id"], "--name", "吉田　玖郎")
    browser = _card_login(idp, kuro["card_file"])
    assert browser.state["prompt"] == "reissue", browser.state
    _answer(browser, "reissue", kuro["card_file"], "ABCD1234")
    assert browser.continue_after_card()["prompt"] == "returned"
    assert _history(idp, "吉田　九郎") == (
        [("吉田　九郎", False), ("吉田　玖郎", True)], ["certificate", "certificate"])
