"""Relying-party libraries nobody here wrote, against a running IdP: `oic` and Authlib's client.

The IdP runs in a Werkzeug server thread on a free port with its own instance directory; the
relying parties are registered with `idp clients add`. A human login cannot happen yet (card
and passkeys come next), so the browser (a requests.Session) is authenticated with the test
fixture that writes a login session into the database, then follows redirects and answers the
consent step through the interaction's JSON face.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from click.testing import CliRunner
from flask import Flask
from werkzeug.serving import make_server

from idp.accounts.sessions import COOKIE_NAME
from idp.app import create_app
from idp.cli import cli
from idp.settings import Settings
from tests.support.login import login_session
from tests.support.postgres import free_port

pytestmark = pytest.mark.slow
REDIRECT = "https://rp.example/cb"


@dataclass
class Idp:
    url: str
    app: Flask
    env: dict[str, str]

    def register(self, *args: str) -> dict[str, Any]:
        result = CliRunner().invoke(cli, ["clients", "add", "--name", "Test RP",
                                          "--redirect-uri", REDIRECT, *args, "--json"],
                                    env=self.env)
        assert result.exit_code == 0, result.output
        credentials: dict[str, Any] = json.loads(result.output)
        return credentials

    def browser(self) -> requests.Session:
        """A browser with a logged-in person (fixture, not a route)."""
        _, cookie = login_session(self.app)
        session = requests.Session()
        session.cookies.set(COOKIE_NAME, cookie, domain="127.0.0.1")
        return session

    def follow(self, browser: requests.Session, url: str) -> str:
        """Follow the browser through the IdP, consenting to everything; the RP's URL."""
        while url.startswith(self.url):
            if "/interaction/" in url:
                state = browser.get(url, headers={"Accept": "application/json"}).json()
                if state["prompt"] == "done":
                    url = state["redirect_to"]
                    continue
                assert state["prompt"] == "consent", state
                url = browser.post(
                    self.url + state["actions"]["consent"]["href"], json={"approve": True, "claims": state["requested"]["claims"]},
                    headers={"X-CSRF-Token": state["csrf_token"]}).json()["redirect_to"]
                continue
            response = browser.get(url, allow_redirects=False)
            assert response.status_code in (302, 303), response.text
            url = response.headers["Location"]
        return url


class _Receiver:
    """A back-channel logout endpoint of the relying party."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.app = Flask("rp")

        @self.app.post("/backchannel")
        def backchannel() -> tuple[str, int]:
            from flask import request

            self.tokens.append(request.form["logout_token"])
            return "", 200


def _serve(app: Flask, port: int) -> Iterator[None]:
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture
def receiver() -> Iterator[tuple[_Receiver, str]]:
    rp, port = _Receiver(), free_port()
    yield from ((rp, f"http://127.0.0.1:{port}/backchannel") for _ in _serve(rp.app, port))


@pytest.fixture
def idp(tmp_path: Path) -> Iterator[Idp]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"IDP_VAR_DIR": str(tmp_path / "var"), "IDP_OIDC__ISSUER": url}
    assert CliRunner().invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    app = create_app(Settings(var_dir=tmp_path / "var", oidc={"issuer": url}))
    for _ in _serve(app, port):
        yield Idp(url, app, env)
    app.extensions["idp.engine"].dispose()


def _code(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# -- oic (PyPI "oic") ---------------------------------------------------------------------------

def _oic_client(idp: Idp, credentials: dict[str, Any], **registration: Any) -> Any:
    from oic.oic import Client
    from oic.oic.message import RegistrationResponse
    from oic.utils.authn.client import CLIENT_AUTHN_METHOD

    client = Client(client_authn_method=CLIENT_AUTHN_METHOD)
    client.provider_config(idp.url)
    client.store_registration_info(RegistrationResponse(
        client_id=credentials["client_id"], client_secret=credentials["client_secret"],
        redirect_uris=[REDIRECT], **registration))
    client.redirect_uris = [REDIRECT]
    return client


def _oic_authorize(idp: Idp, client: Any, browser: requests.Session, state: str) -> Any:
    from oic import rndstr
    from oic.oic.message import AuthorizationResponse

    pkce, verifier = client.add_code_challenge()
    request = client.construct_AuthorizationRequest(request_args={
        "client_id": client.client_id, "response_type": "code", "scope": ["openid", "profile"],
        "nonce": rndstr(), "redirect_uri": REDIRECT, "state": state, **pkce})
    back = idp.follow(browser, request.request(client.authorization_endpoint))
    response = client.parse_response(AuthorizationResponse, info=urlsplit(back).query,
                                     sformat="urlencoded")
    assert response["iss"] == idp.url
    return response, verifier


def test_oic_discovery_code_pkce_token_userinfo_refresh(idp: Idp) -> None:
    from oic.oic.message import AccessTokenResponse, OpenIDSchema

    client = _oic_client(idp, idp.register())
    assert client.provider_info["code_challenge_methods_supported"] == ["S256"]
    response, verifier = _oic_authorize(idp, client, idp.browser(), "s-oic")
    tokens = client.do_access_token_request(
        state="s-oic", request_args={"code": response["code"], "code_verifier": verifier},
        authn_method="client_secret_basic")
    assert isinstance(tokens, AccessTokenResponse), tokens
    id_token = tokens["id_token"]
    assert id_token["acr"] == "urn:jpki-idp:acr:ial2-aal2"
    info = client.do_user_info_request(state="s-oic")
    assert isinstance(info, OpenIDSchema)
    assert info["sub"] == id_token["sub"]
    assert info["name"] == "山田 太郎"
    refreshed = client.do_access_token_refresh(state="s-oic",
                                               authn_method="client_secret_basic")
    assert isinstance(refreshed, AccessTokenResponse), refreshed
    assert refreshed["refresh_token"] != tokens["refresh_token"]


def test_oic_client_secret_post_and_rs256(idp: Idp) -> None:
    client = _oic_client(idp, idp.register("--auth-method", "client_secret_post",
                                           "--id-token-alg", "RS256"),
                         id_token_signed_response_alg="RS256")
    response, verifier = _oic_authorize(idp, client, idp.browser(), "s-post")
    tokens = client.do_access_token_request(
        state="s-post", request_args={"code": response["code"], "code_verifier": verifier},
        authn_method="client_secret_post")
    assert tokens["id_token"].jws_header["alg"] == "RS256"


def test_oic_logout_with_back_channel(idp: Idp, receiver: tuple[_Receiver, str]) -> None:
    rp, backchannel = receiver
    client = _oic_client(idp, idp.register(
        "--backchannel-logout-uri", backchannel,
        "--post-logout-redirect-uri", "https://rp.example/bye"))
    browser = idp.browser()
    response, verifier = _oic_authorize(idp, client, browser, "s-out")
    tokens = client.do_access_token_request(
        state="s-out", request_args={"code": response["code"], "code_verifier": verifier},
        authn_method="client_secret_basic")
    logout_url = client.construct_EndSessionRequest(state="s-out", request_args={
        "post_logout_redirect_uri": "https://rp.example/bye", "state": "bye"}).request(
        client.end_session_endpoint)
    back = browser.get(logout_url, allow_redirects=False).headers["Location"]
    assert back == "https://rp.example/bye?state=bye"
    assert len(rp.tokens) == 1
    from oic.oic.message import BackChannelLogoutRequest

    request = BackChannelLogoutRequest(logout_token=rp.tokens[0])
    assert request.verify(keyjar=client.keyjar, iss=idp.url, aud=client.client_id)
    assert request["logout_token"]["sub"] == tokens["id_token"]["sub"]
    assert request["logout_token"]["sid"] == tokens["id_token"]["sid"]
