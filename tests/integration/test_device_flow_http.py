"""The TV flow end to end over HTTP (RFC 8628): a TV's backend asks for codes and polls a running
IdP, the person approves on /device from their phone with a passkey through the JSON face.

The IdP runs in a Werkzeug server thread; the device client is registered by `idp clients add
--device`; the phone is a requests.Session with a software authenticator. The anchor re-check
of the passkey sign-in answers from a fake checker (the real one is tested with the simulator).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import update
from werkzeug.serving import make_server

from idp import db
from idp.app import create_app, services_of
from idp.assurance import levels
from idp.cli import cli
from idp.oidc.models import DeviceAuthorization
from idp.oidc.tokens import digest
from idp.passkeys.values import Anchor
from idp.settings import Settings
from tests.support.login import login_session
from tests.support.postgres import free_port
from tests.support.webauthn_authenticator import SoftAuthenticator
from tests.unit.web.test_passkey_flow import FakeChecker

pytestmark = pytest.mark.slow
GRANT = "urn:ietf:params:oauth:grant-type:device_code"
JSON = {"Accept": "application/json"}


@dataclass
class Idp:
    url: str
    app: Flask
    env: dict[str, str]

    def polled_ago(self, device_code: str, seconds: int) -> None:
        """As if the TV's last poll had been ``seconds`` ago (no sleeping; and however long the
        phone took meanwhile on a loaded machine: the poll's "too fast" is wall-clock time)."""
        with db.transaction(services_of(self.app).sessions) as session:
            row = DeviceAuthorization
            session.execute(update(row).where(row.device_code_hash == digest(device_code))
                            .values(last_polled_at=int(time.time()) - seconds))


@pytest.fixture
def idp(tmp_path: Path) -> Iterator[Idp]:
    port = free_port()
    url = f"http://localhost:{port}"
    env = {"IDP_VAR_DIR": str(tmp_path / "var"), "IDP_OIDC__ISSUER": url}
    assert CliRunner().invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    app = create_app(Settings(var_dir=tmp_path / "var", oidc={"issuer": url},
                              webauthn={"origins": [url]}), anchors=FakeChecker())
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Idp(url, app, env)
    finally:
        server.shutdown()
        thread.join()
        services_of(app).engine.dispose()


class TvBackend:
    """What the TV's server does: device authorization, then polling the token endpoint."""

    def __init__(self, idp: Idp, client_id: str) -> None:
        self.idp, self.client_id = idp, client_id
        metadata = requests.get(idp.url + "/.well-known/openid-configuration", timeout=5).json()
        self.device_endpoint = metadata["device_authorization_endpoint"]
        self.token_endpoint = metadata["token_endpoint"]
        assert GRANT in metadata["grant_types_supported"]

    def start(self) -> dict[str, Any]:
        answer = requests.post(self.device_endpoint, data={
            "client_id": self.client_id, "scope": "openid profile"}, timeout=5)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    def poll(self, device_code: str) -> requests.Response:
        return requests.post(self.token_endpoint, data={
            "grant_type": GRANT, "device_code": device_code, "client_id": self.client_id},
            timeout=5)


class PhoneBrowser:
    """The person's phone: /device, then the interaction's JSON face, with a passkey."""

    def __init__(self, idp: Idp, authenticator: SoftAuthenticator) -> None:
        self.idp, self.authenticator = idp, authenticator
        self.http = requests.Session()
        self.level: dict[str, Any] = {}  # acr and amr of the passkey sign-in

    def get(self, url: str) -> dict[str, Any]:
        answer = self.http.get(url if url.startswith("http") else self.idp.url + url,
                               headers=JSON, timeout=5)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    def act(self, state: dict[str, Any], name: str, body: dict[str, Any] | None = None) -> \
            dict[str, Any]:
        answer = self.http.post(self.idp.url + state["actions"][name]["href"], json=body or {},
                                headers={"X-CSRF-Token": state["csrf_token"]}, timeout=5)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    def open_code(self, verification_uri_complete: str) -> dict[str, Any]:
        """Scan the TV's QR code: the page with the code filled in; continue with it."""
        face = self.get(verification_uri_complete)
        assert face["prompt"] == "user_code"
        return self.get(self.act(face, "user_code", {"user_code": face["user_code"]})
                        ["redirect_to"])

    def sign_in_with_passkey(self, state: dict[str, Any]) -> dict[str, Any]:
        assert state["prompt"] == "login", state
        options = self.act(state, "passkey_options")["options"]
        credential = self.authenticator.get(json.dumps(options), origin=self.idp.url)
        verified = self.act(state, "passkey_verify", {"credential": json.loads(credential)})
        assert verified["account"]["anchor"]["state"] == "current"
        self.level = verified["account"]
        return self.get(verified["redirect_to"])


def passkey_holder(idp: Idp) -> SoftAuthenticator:
    """A person with a registered passkey (registered through the service: its own tests and
    the account page's cover registration over HTTP)."""
    private_id, _ = login_session(idp.app)
    service = services_of(idp.app).passkeys
    started = service.begin_registration(
        private_id=private_id, display_name="山田 太郎",
        anchor=Anchor(issuer="CN=JPKI-SIM Sign CA,O=JPKI-SIM,C=JP", serial="0a1b2c"))
    authenticator = SoftAuthenticator()
    service.finish_registration(handle=started.handle, response_json=authenticator.create(
        started.options_json, origin=idp.url))
    return authenticator


def claims_of(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    found: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload)
                                                                              % 4)))
    return found


def test_a_tv_signs_in_with_the_persons_passkey_and_a_denied_request_gets_nothing(
        idp: Idp) -> None:
    registered = CliRunner().invoke(cli, ["clients", "add", "--name", "Living-room TV",
                                          "--device", "--json"], env=idp.env)
    assert registered.exit_code == 0, registered.output
    tv = TvBackend(idp, json.loads(registered.output)["client_id"])
    phone = PhoneBrowser(idp, passkey_holder(idp))

    codes = tv.start()
    assert codes["interval"] == 5
    pending = tv.poll(codes["device_code"])
    assert (pending.status_code, pending.json()["error"]) == (400, "authorization_pending")
    too_fast = tv.poll(codes["device_code"])
    assert too_fast.json()["error"] == "slow_down"  # the interval is 10 s from now on

    state = phone.sign_in_with_passkey(phone.open_code(codes["verification_uri_complete"]))
    assert state["client"]["name"] == "Living-room TV"
    if state["prompt"] == "consent":
        state = phone.get(phone.act(state, "consent", {
            "approve": True, "claims": state["requested"]["claims"]})["redirect_to"])
    assert state["prompt"] == "approve"
    assert state["device"]["user_code"] == codes["user_code"]
    idp.polled_ago(codes["device_code"], 6)  # 6 s after a slow_down is still too fast
    assert tv.poll(codes["device_code"]).json()["error"] == "slow_down"
    done = phone.get(phone.act(state, "approve")["redirect_to"])
    assert done["status"] == "approved"

    idp.polled_ago(codes["device_code"], 16)
    issued = tv.poll(codes["device_code"])
    assert issued.status_code == 200, issued.text
    tokens = issued.json()
    id_token = claims_of(tokens["id_token"])
    # the level of the approval: the passkey sign-in's (acr as asserted to an RP asking none)
    assert id_token["acr"] == levels.asserted(phone.level["acr"], [])
    assert id_token["amr"] == phone.level["amr"]
    assert claims_of(tokens["access_token"])["amr"] == phone.level["amr"]
    userinfo = requests.get(idp.url + "/userinfo", timeout=5, headers={
        "Authorization": "Bearer " + tokens["access_token"]})
    assert userinfo.json()["name"] == "山田 太郎"
    idp.polled_ago(codes["device_code"], 16)
    again = tv.poll(codes["device_code"])
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")

    denied = tv.start()
    state = phone.open_code(denied["verification_uri_complete"])
    assert state["prompt"] == "approve"  # signed in and consented already: only the approval
    assert phone.get(phone.act(state, "deny")["redirect_to"])["status"] == "denied"
    refused = tv.poll(denied["device_code"])
    assert (refused.status_code, refused.json()["error"]) == (400, "access_denied")
    assert "access_token" not in refused.json()
