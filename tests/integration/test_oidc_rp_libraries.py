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
from collections.abc import Iterator
from contextlib import contextmanager
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
from idp.app import create_app, services_of
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
                body = {"approve": True, "claims": state["requested"]["claims"]}
                url = browser.post(
                    self.url + state["actions"]["consent"]["href"], json=body,
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


@contextmanager
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
    with _serve(rp.app, port):
        yield rp, f"http://127.0.0.1:{port}/backchannel"


@pytest.fixture
def idp(tmp_path: Path) -> Iterator[Idp]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"IDP_VAR_DIR": str(tmp_path / "var"), "IDP_OIDC__ISSUER": url}
    assert CliRunner().invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    app = create_app(Settings(var_dir=tmp_path / "var", oidc={"issuer": url}))
    with _serve(app, port):
        yield Idp(url, app, env)
    services_of(app).engine.dispose()


def _code(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# -- oic (PyPI "oic") ---------------------------------------------------------------------------

def _oic_client(idp: Idp, credentials: dict[str, Any], **registration: Any) -> Any:
    from oic.oic import Client
    from oic.oic.message import RegistrationResponse
    from oic.utils.authn.client import CLIENT_AUTHN_METHOD

    client = Client(client_authn_method=CLIENT_AUTHN_METHOD)
    client.provider_config(idp.url)
    secret = {"client_secret": credentials["client_secret"]} if credentials[
        "client_secret"] else {}
    client.store_registration_info(RegistrationResponse(
        client_id=credentials["client_id"], redirect_uris=[REDIRECT], **secret,
        **registration))
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


def test_oic_par_and_private_key_jwt(idp: Idp, tmp_path: Path) -> None:
    """oic has no PAR helper: its own request message and client authentication are POSTed."""
    from oic import rndstr
    from oic.oic.message import AccessTokenResponse, AuthorizationResponse
    from oic.utils.authn.client import PrivateKeyJWT
    from oic.utils.keyio import build_keyjar

    # oic writes a generated key to the file named by "key" (default: ./pyoidc)
    jwks, keyjar, _ = build_keyjar([{"type": "RSA", "key": str(tmp_path / "oic-rp.key"),
                                     "use": ["sig"]}])
    jwks_file = tmp_path / "oic-jwks.json"
    jwks_file.write_text(json.dumps(jwks))
    client = _oic_client(idp, idp.register("--auth-method", "private_key_jwt",
                                           "--jwks", str(jwks_file)),
                         token_endpoint_auth_method="private_key_jwt")
    for bundle in keyjar.issuer_keys[""]:
        client.keyjar.add_kb("", bundle)
    pkce, verifier = client.add_code_challenge()
    request = client.construct_AuthorizationRequest(request_args={
        "client_id": client.client_id, "response_type": "code", "scope": ["openid"],
        "nonce": rndstr(), "redirect_uri": REDIRECT, "state": "s-par", **pkce})
    PrivateKeyJWT(client).construct(request, authn_endpoint="par", algorithm="RS256")
    pushed = requests.post(client.provider_info["pushed_authorization_request_endpoint"],
                           data=request.to_dict(), timeout=5)
    assert pushed.status_code == 201, pushed.text
    url = (f"{client.authorization_endpoint}?client_id={client.client_id}"
           f"&request_uri={pushed.json()['request_uri']}")
    back = idp.follow(idp.browser(), url)
    response = client.parse_response(AuthorizationResponse, info=urlsplit(back).query,
                                     sformat="urlencoded")
    tokens = client.do_access_token_request(
        state="s-par", request_args={"code": response["code"], "code_verifier": verifier},
        authn_method="private_key_jwt")
    assert isinstance(tokens, AccessTokenResponse), tokens
    assert client.do_user_info_request(state="s-par")["sub"] == tokens["id_token"]["sub"]


# -- Authlib's client ---------------------------------------------------------------------------
# authlib.jose (which Authlib's client uses to sign assertions and we use to check ID tokens the
# way an Authlib RP would) warns that it will move to joserfc; that is the library's business.
authlib_warning = pytest.mark.filterwarnings(
    "ignore::authlib.deprecate.AuthlibDeprecationWarning")


def _metadata(idp: Idp) -> dict[str, Any]:
    body: dict[str, Any] = requests.get(f"{idp.url}/.well-known/openid-configuration",
                                        timeout=5).json()
    return body


def _authlib_id_token(idp: Idp, id_token: str, client_id: str, nonce: str) -> dict[str, Any]:
    from authlib.jose import JsonWebKey, jwt
    from authlib.oidc.core import CodeIDToken

    keys = JsonWebKey.import_key_set(requests.get(f"{idp.url}/jwks", timeout=5).json())
    claims = jwt.decode(id_token, keys, claims_cls=CodeIDToken,
                        claims_options={"iss": {"essential": True, "value": idp.url}},
                        claims_params={"nonce": nonce, "client_id": client_id})
    claims.validate()
    return dict(claims)


@pytest.fixture
def insecure_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the test IdP speaks plain http


@authlib_warning
@pytest.mark.usefixtures("insecure_transport")
def test_authlib_code_pkce_userinfo_refresh_introspect_revoke(idp: Idp) -> None:
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session

    meta, credentials = _metadata(idp), idp.register()
    session = OAuth2Session(credentials["client_id"], credentials["client_secret"],
                            scope="openid profile", redirect_uri=REDIRECT,
                            code_challenge_method="S256")
    verifier, nonce = generate_token(48), generate_token(16)
    url, _state = session.create_authorization_url(meta["authorization_endpoint"],
                                                   code_verifier=verifier, nonce=nonce)
    back = idp.follow(idp.browser(), url)
    token = session.fetch_token(meta["token_endpoint"], authorization_response=back,
                                code_verifier=verifier)
    id_claims = _authlib_id_token(idp, token["id_token"], credentials["client_id"], nonce)
    assert id_claims["acr"] == "urn:jpki-idp:acr:ial2-aal2"
    info = session.get(meta["userinfo_endpoint"]).json()
    assert info["sub"] == id_claims["sub"]
    refreshed = session.refresh_token(meta["token_endpoint"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    introspected = session.introspect_token(meta["introspection_endpoint"],
                                            token=refreshed["access_token"]).json()
    assert introspected["active"] is True
    assert introspected["acr"] == "urn:jpki-idp:acr:ial2-aal2"
    session.revoke_token(meta["revocation_endpoint"], token=refreshed["refresh_token"],
                         token_type_hint="refresh_token")
    assert session.introspect_token(meta["introspection_endpoint"],
                                    token=refreshed["access_token"]).json() == {"active": False}


@authlib_warning
@pytest.mark.usefixtures("insecure_transport")
def test_authlib_par_with_private_key_jwt(idp: Idp, tmp_path: Path) -> None:
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session
    from authlib.oauth2.rfc7523 import PrivateKeyJWT
    from authlib.oauth2.rfc7636 import create_s256_code_challenge
    from joserfc.jwk import RSAKey

    key = RSAKey.generate_key(2048)
    jwks_file = tmp_path / "rp-jwks.json"
    jwks_file.write_text(json.dumps({"keys": [{**key.as_dict(private=False),
                                               "kid": "rp-rsa"}]}))
    credentials = idp.register("--auth-method", "private_key_jwt", "--jwks", str(jwks_file))
    assert credentials["client_secret"] is None
    meta = _metadata(idp)
    private_jwk = {**key.as_dict(private=True), "kid": "rp-rsa"}
    session = OAuth2Session(
        credentials["client_id"], private_jwk, scope="openid", redirect_uri=REDIRECT,
        token_endpoint_auth_method=PrivateKeyJWT(meta["token_endpoint"],
                                                 headers={"kid": "rp-rsa"}))
    verifier, nonce = generate_token(48), generate_token(16)
    pushed = session.post(
        meta["pushed_authorization_request_endpoint"], withhold_token=True,
        auth=session.client_auth(PrivateKeyJWT(meta["pushed_authorization_request_endpoint"],
                                               headers={"kid": "rp-rsa"})),
        data={"client_id": credentials["client_id"], "response_type": "code",
              "scope": "openid", "redirect_uri": REDIRECT, "state": "s-par", "nonce": nonce,
              "code_challenge": create_s256_code_challenge(verifier),
              "code_challenge_method": "S256"})
    assert pushed.status_code == 201, pushed.text
    url = (f"{meta['authorization_endpoint']}?client_id={credentials['client_id']}"
           f"&request_uri={pushed.json()['request_uri']}")
    back = idp.follow(idp.browser(), url)
    token = session.fetch_token(meta["token_endpoint"], authorization_response=back,
                                code_verifier=verifier, state="s-par")
    _authlib_id_token(idp, token["id_token"], credentials["client_id"], nonce)
    assert session.get(meta["userinfo_endpoint"]).status_code == 200
    assert session.refresh_token(meta["token_endpoint"])["access_token"]


@authlib_warning
@pytest.mark.usefixtures("insecure_transport")
def test_authlib_rp_initiated_and_back_channel_logout(
        idp: Idp, receiver: tuple[_Receiver, str]) -> None:
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session
    from authlib.jose import JsonWebKey, jwt

    rp, backchannel = receiver
    meta = _metadata(idp)
    credentials = idp.register("--backchannel-logout-uri", backchannel,
                               "--post-logout-redirect-uri", "https://rp.example/bye")
    session = OAuth2Session(credentials["client_id"], credentials["client_secret"],
                            scope="openid", redirect_uri=REDIRECT, code_challenge_method="S256")
    verifier, nonce = generate_token(48), generate_token(16)
    url, _ = session.create_authorization_url(meta["authorization_endpoint"],
                                              code_verifier=verifier, nonce=nonce)
    browser = idp.browser()
    token = session.fetch_token(meta["token_endpoint"],
                                authorization_response=idp.follow(browser, url),
                                code_verifier=verifier)
    response = browser.get(meta["end_session_endpoint"], allow_redirects=False, params={
        "id_token_hint": token["id_token"], "post_logout_redirect_uri": "https://rp.example/bye"})
    assert response.headers["Location"] == "https://rp.example/bye"
    keys = JsonWebKey.import_key_set(requests.get(f"{idp.url}/jwks", timeout=5).json())
    logout = jwt.decode(rp.tokens[0], keys)
    assert logout["aud"] == credentials["client_id"]
    assert "http://schemas.openid.net/event/backchannel-logout" in logout["events"]
    assert session.get(meta["userinfo_endpoint"]).status_code == 401
