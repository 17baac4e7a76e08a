"""The set-top box with a card reader (docs/card.md): the box itself walks /device's JSON face,
answers the card request locally with `idp card sign` (a virtual card file standing in for the
reader), and polls for the tokens: no phone involved."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import requests

from idp import db
from idp.app import services_of
from idp.oidc import clients
from tests.integration.card_login.conftest import Browser, Idp, card_sign, person

GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    found: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload)
                                                                              % 4)))
    return found


def test_a_box_with_a_reader_signs_its_viewer_in_with_the_card_alone(
        idp: Idp, tmp_path: Path) -> None:
    with db.transaction(services_of(idp.app).sessions) as session:
        tv = clients.register_device(session, name="Cable box")
    viewer = person(idp.sim, tmp_path, "高橋　花子")
    codes = requests.post(f"{idp.url}/device_authorization", timeout=10,
                          data={"client_id": tv, "scope": "openid profile"}).json()

    box = Browser(idp, requests.Session())  # the box's own HTTP client and cookie jar
    face = box.show(codes["verification_uri"])
    assert face["prompt"] == "user_code"
    entered = box.act("user_code", {"user_code": codes["user_code"]})
    state = box.show(entered.json()["redirect_to"])
    assert state["prompt"] == "login"
    assert state["client"]["name"] == "Cable box"
    box.agree_to_terms()  # a newcomer: onboarding with the signing certificate
    request_url = box.act("onboard").json()["request_url"]
    signed = card_sign(request_url, viewer["card_file"], "ABCD1234")
    assert signed.returncode == 0, signed.stderr
    assert "Cable box" in signed.stdout  # shown on the TV before the PIN
    state = box.continue_after_card()
    assert state["prompt"] == "consent", state
    state = box.show(box.act("consent", {"approve": True, "claims": state["requested"][
        "claims"]}).json()["redirect_to"])
    assert state["prompt"] == "approve"
    done = box.act("approve").json()["redirect_to"]
    assert "status=approved" in done

    tokens = requests.post(f"{idp.url}/token", timeout=10, data={
        "grant_type": GRANT, "device_code": codes["device_code"], "client_id": tv})
    assert tokens.status_code == 200, tokens.text
    id_token = _claims(tokens.json()["id_token"])
    assert id_token["acr"] == "urn:jpki-idp:acr:ial2-aal2"
    assert id_token["amr"] == ["sc", "hwk", "pin", "mfa"]
    userinfo = requests.get(f"{idp.url}/userinfo", timeout=10, headers={
        "Authorization": "Bearer " + tokens.json()["access_token"]}).json()
    assert userinfo["name"] == "高橋　花子"
