"""A confidential client gets a short-lived token for its Shared Signals stream with the client
credentials grant, scope ``ssf`` and nothing else; a public client cannot."""

from __future__ import annotations

from flask import Flask

from idp.app import services_of
from tests.unit.oidc.conftest import ISSUER, Rp, register


def test_a_confidential_client_gets_an_ssf_token_naming_itself(rp: Rp) -> None:
    response = rp.token(grant_type="client_credentials", scope="ssf")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["token_type"], body["scope"], body["expires_in"]) == ("Bearer", "ssf", 600)
    assert "refresh_token" not in body
    assert "id_token" not in body
    claims = services_of(rp.app).keys.verify(body["access_token"], typ="at+jwt")
    assert (claims["iss"], claims["sub"], claims["client_id"], claims["scope"]) == (
        ISSUER, rp.client_id, rp.client_id, "ssf")
    assert claims["exp"] - claims["iat"] == 600


def test_the_scope_defaults_to_ssf_and_no_other_scope_is_given(rp: Rp) -> None:
    assert rp.token(grant_type="client_credentials").get_json()["scope"] == "ssf"
    for scope in ("openid", "ssf openid", "profile", ""):
        refused = rp.token(grant_type="client_credentials", scope=scope)
        assert (refused.status_code, refused.get_json()["error"]) == (400, "invalid_scope")


def test_a_public_client_is_refused_the_grant(app: Flask) -> None:
    client_id, _ = register(app, auth_method="none")
    refused = app.test_client().post("/token", data={
        "grant_type": "client_credentials", "client_id": client_id})
    assert (refused.status_code, refused.get_json()["error"]) == (400, "unauthorized_client")


def test_a_wrong_secret_is_refused_before_the_grant(rp: Rp) -> None:
    refused = rp.browser.post("/token", data={"grant_type": "client_credentials"},
                              auth=(rp.client_id, "wrong"))
    assert (refused.status_code, refused.get_json()["error"]) == (401, "invalid_client")


def test_discovery_lists_the_grant_and_the_scope(app: Flask) -> None:
    metadata = app.test_client().get("/.well-known/openid-configuration").get_json()
    assert "client_credentials" in metadata["grant_types_supported"]
    assert "ssf" in metadata["scopes_supported"]
