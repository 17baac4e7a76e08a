"""The IdP served over HTTP next to a running simulator, driven through its JSON face only.

A browser is a ``requests.Session`` (real cookies); the card app is ``idp card sign`` run as a
subprocess against the card files the simulator writes, exactly as a person would run it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from werkzeug.serving import make_server

from idp import db
from idp.app import create_app, services_of
from idp.card.backends import open_card
from idp.card.connection import Channel
from idp.card.digest import digest_info_sha256
from idp.card.jpki import KEY_FILES, JpkiCard
from idp.jpki.profile import Purpose
from idp.oidc import clients
from idp.settings import Settings
from tests.support.sim import IDP, RunningSim, free_port, sim_server

__all__ = ["sim_server"]
REDIRECT = "https://rp.example/cb"


@dataclass
class Idp:
    url: str
    client_id: str
    secret: str | None
    sim: RunningSim
    app: Any = field(repr=False, default=None)
    settings: Settings | None = None

    def browser(self) -> Browser:
        return Browser(self, requests.Session())


@dataclass
class Browser:
    idp: Idp
    http: requests.Session
    state: dict[str, Any] = field(default_factory=dict)

    def authorize(self, **extra: str) -> dict[str, Any]:
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        params = {"client_id": self.idp.client_id, "redirect_uri": REDIRECT,
                  "response_type": "code", "scope": "openid profile address", "state": "s",
                  "nonce": "n", "code_challenge": challenge.rstrip(b"=").decode(),
                  "code_challenge_method": "S256", **extra}
        response = self.http.get(f"{self.idp.url}/authorize", params=params,
                                 allow_redirects=False)
        assert response.status_code in (302, 303), response.text
        self.verifier = verifier
        return self.show(response.headers["Location"])

    def show(self, location: str) -> dict[str, Any]:
        if location.startswith(REDIRECT):
            self.state = {"prompt": "returned", "redirect_to": location}
            return self.state
        if location.startswith("/"):
            location = self.idp.url + location
        response = self.http.get(location, headers={"Accept": "application/json"})
        assert response.status_code == 200, response.text
        self.state = response.json()
        if self.state.get("prompt") == "done" and "redirect_to" not in self.state:
            # Finished, with an optional step open (the passkey offer): skip it.
            return self.show(self.act("skip").json()["redirect_to"])
        if self.state.get("prompt") == "done":
            self.state = {"prompt": "returned", "redirect_to": self.state["redirect_to"]}
        return self.state

    def act(self, action: str, body: dict[str, Any] | None = None,
            state: dict[str, Any] | None = None) -> requests.Response:
        state = state or self.state
        href = state["actions"][action]["href"]
        return self.http.post(href if href.startswith("http") else self.idp.url + href,
                              json=body or {}, headers={"X-CSRF-Token": state["csrf_token"]})

    def agree_to_terms(self) -> requests.Response:
        """The terms step before onboarding: agree to the version the ``agree`` action names."""
        agree = self.state["actions"]["agree"]
        response = self.act("agree", {"agree": True, "version": agree["version"]})
        assert response.status_code == 200, response.text
        return response

    def status(self) -> requests.Response:
        return self.http.get(f"{self.idp.url}/interaction/{self.state['uid']}/status")

    def continue_after_card(self) -> dict[str, Any]:
        """Go on as the status says: ``continue`` (card login, onboarding), or straight to the
        interaction when the answer itself finished the step (re-issue, 4-info refresh)."""
        status = self.status().json()
        assert status["status"] == "accepted", status
        if "redirect_to" in status:
            return self.show(status["redirect_to"])
        response = self.act("continue", state={**self.state, **status})
        assert response.status_code == 200, response.text
        return self.show(response.json()["redirect_to"])

    def tokens(self) -> dict[str, Any]:
        """Exchange the code the RP received for tokens; returns userinfo and the ID token."""
        code = parse_qs(urlsplit(self.state["redirect_to"]).query)["code"][0]
        token = requests.post(f"{self.idp.url}/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": self.verifier}, auth=(self.idp.client_id, self.idp.secret or ""),
            timeout=10)
        assert token.status_code == 200, token.text
        body = token.json()
        info = requests.get(f"{self.idp.url}/userinfo",
                            headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=10)
        assert info.status_code == 200, info.text
        payload = body["id_token"].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return {"userinfo": info.json(), "id_token": claims}


def card_sign(url: str, card_file: str, pin: str,
              *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IDP, "card", "sign", url, "--card-file", card_file, "--pin", pin,
                           "--yes", *extra], capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.fixture(scope="module")
def idp(sim_server: RunningSim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Idp]:
    var_dir = tmp_path_factory.mktemp("idp") / "var"
    var_dir.mkdir()
    export = sim_server.run("ca", "export", str(var_dir / "trust"))
    assert export.returncode == 0, export.stderr
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    database_url = f"sqlite:///{var_dir / 'idp.sqlite3'}"
    db.upgrade(database_url)
    ocsp = {"method": "ocsp"}
    settings = Settings(var_dir=var_dir, database_url=database_url, oidc={"issuer": url},
                        jlis={"url": sim_server.url, "api_key": sim_server.api_key},
                        trust={"sign": ocsp, "auth": ocsp})
    app = create_app(settings)
    with db.transaction(services_of(app).sessions) as session:
        client_id, secret = clients.register(session, name="Test Bank",
                                             redirect_uris=[REDIRECT])
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Idp(url, client_id, secret, sim_server, app, settings)
    finally:
        server.shutdown()
        thread.join()
        services_of(app).engine.dispose()


def person(sim: RunningSim, tmp: Path, name: str, birth: str = "1980-02-17") -> dict[str, Any]:
    return sim.add_person(name, birth, tmp / f"{secrets.token_hex(4)}.json",
                          extra=("--sign-pin", "ABCD1234", "--auth-pin", "1234"))


def card_answer(card_file: str, pin: str, purpose: Purpose, data: bytes) -> dict[str, str]:
    """What a card app would POST for ``data``: the card's certificate and its signature."""
    channel = Channel(open_card(card_file=card_file, reader=None))
    try:
        card = JpkiCard(channel)
        card.select()
        card.verify_pin(purpose, pin)
        certificate = card.read_certificate(KEY_FILES[purpose].certificate)
        signature = card.sign(purpose, digest_info_sha256(data))
    finally:
        channel.close()
    return {"certificate": base64.b64encode(certificate).decode(),
            "signature": base64.b64encode(signature).decode()}


def fetch(url: str) -> dict[str, Any]:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def tbs(request: dict[str, Any]) -> bytes:
    text = request["to_be_signed"]
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
