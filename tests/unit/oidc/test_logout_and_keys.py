"""RP-initiated and back-channel logout; signing key rotation; the clients CLI; discovery."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import responses
from click.testing import CliRunner
from flask import Flask
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.cli import cli
from idp.oidc.errors import InvalidTokenError
from idp.oidc.keys import KeyStore
from tests.unit.oidc.conftest import ISSUER, Rp, register

BACKCHANNEL = "https://rp.example/backchannel"
POST_LOGOUT = "https://rp.example/bye"


@pytest.fixture
def logout_rp(app: Flask) -> Rp:
    client_id, secret = register(app, backchannel_logout_uri=BACKCHANNEL,
                                 post_logout_redirect_uris=[POST_LOGOUT])
    return Rp(app, app.test_client(), client_id, secret)


@responses.activate
def test_logout_ends_the_session_notifies_the_rp_and_redirects_back(logout_rp: Rp) -> None:
    responses.add(responses.POST, BACKCHANNEL, status=200)
    logout_rp.login()
    code, verifier = logout_rp.code()
    tokens = logout_rp.exchange(code, verifier).get_json()
    response = logout_rp.browser.get("/logout", query_string={
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT,
        "state": "bye-1"})
    assert response.headers["Location"] == f"{POST_LOGOUT}?state=bye-1"
    sent = parse_qs(responses.calls[0].request.body)["logout_token"][0]
    keys = KeySet.import_key_set(logout_rp.browser.get("/jwks").get_json())
    logout_token = jwt.decode(sent, keys)
    id_token = jwt.decode(tokens["id_token"], keys).claims
    assert logout_token.header["typ"] == "logout+jwt"
    assert logout_token.claims["sub"] == id_token["sub"]
    assert logout_token.claims["sid"] == id_token["sid"]
    assert "http://schemas.openid.net/event/backchannel-logout" in logout_token.claims["events"]
    assert "nonce" not in logout_token.claims
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert logout_rp.browser.get("/userinfo", headers=bearer).status_code == 401
    location, _ = logout_rp.authorize(prompt="none")
    assert "error=login_required" in location


def test_unregistered_post_logout_redirect_uri_is_refused(logout_rp: Rp) -> None:
    response = logout_rp.browser.get("/logout", query_string={
        "client_id": logout_rp.client_id, "post_logout_redirect_uri": "https://evil.example/"})
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_a_forged_id_token_hint_is_refused(logout_rp: Rp) -> None:
    response = logout_rp.browser.get("/logout", query_string={"id_token_hint": "a.b.c"})
    assert response.status_code == 400


def test_rotation_keeps_the_old_key_published_until_its_tokens_expire(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "a", retention_seconds=600)
    store.ensure()
    token = store.sign({"x": 1})
    old = {k["kid"] for k in store.jwks()["keys"]}
    new = set(store.rotate())
    assert {k["kid"] for k in store.jwks()["keys"]} == old | new
    assert store.verify(token) == {"x": 1}
    assert store.sign({"x": 2}) != token


def test_a_key_retired_longer_than_token_lifetimes_is_no_longer_published(
        tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "b", retention_seconds=600)
    store.ensure()
    token = store.sign({"x": 1})
    new = set(store.rotate(now=int(time.time()) - 1000))
    assert {k["kid"] for k in store.jwks()["keys"]} == new
    with pytest.raises(InvalidTokenError):
        store.verify(token)


def test_jwks_never_publishes_private_parts(app: Flask) -> None:
    for key in app.test_client().get("/jwks").get_json()["keys"]:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_discovery_lists_endpoints_acr_and_s256(app: Flask) -> None:
    meta = app.test_client().get("/.well-known/openid-configuration").get_json()
    assert meta["issuer"] == ISSUER
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert "urn:jpki-idp:acr:ial2-aal2" in meta["acr_values_supported"]
    assert meta["pushed_authorization_request_endpoint"] == f"{ISSUER}/par"
    assert meta["authorization_response_iss_parameter_supported"] is True


def test_cli_registers_a_client_and_rotates_keys(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_VAR_DIR", str(tmp_path / "var"))
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(cli, ["clients", "add", "--name", "Shop", "--redirect-uri",
                                 "https://shop.example/cb", "--json"])
    assert result.exit_code == 0, result.output
    credentials = json.loads(result.output)
    assert credentials["client_id"].startswith("rp_")
    assert len(credentials["client_secret"]) >= 43
    rotated = runner.invoke(cli, ["keys", "rotate", "--json"])
    assert rotated.exit_code == 0, rotated.output
    assert len(json.loads(rotated.output)["kids"]) == 3


def test_cli_refuses_a_bad_redirect_uri_with_exit_1(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_VAR_DIR", str(tmp_path / "var"))
    runner = CliRunner()
    runner.invoke(cli, ["db", "upgrade"])
    result = runner.invoke(cli, ["clients", "add", "--name", "X", "--redirect-uri", "not-a-url"])
    assert result.exit_code == 1
    assert "redirect URI" in result.output
