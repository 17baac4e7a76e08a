"""Refresh rotation, revocation (RFC 7009), introspection (RFC 7662), token formats."""

from __future__ import annotations

from flask import Flask

from tests.unit.oidc.conftest import REDIRECT, Rp, register


def _tokens(rp: Rp) -> dict:
    rp.login()
    code, verifier = rp.code()
    response = rp.exchange(code, verifier)
    assert response.status_code == 200, response.get_json()
    body: dict = response.get_json()
    return body


def test_refresh_rotates_the_refresh_token_and_keeps_the_subject(rp: Rp) -> None:
    first = _tokens(rp)
    second = rp.token(grant_type="refresh_token", refresh_token=first["refresh_token"]).get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    info = rp.browser.get("/userinfo",
                          headers={"Authorization": f"Bearer {second['access_token']}"})
    assert info.status_code == 200


def test_introspection_reports_acr_and_auth_time_to_the_owning_client(rp: Rp) -> None:
    tokens = _tokens(rp)
    body = rp.browser.post("/introspect", auth=(rp.client_id, rp.secret),
                           data={"token": tokens["access_token"]}).get_json()
    assert body["active"] is True
    assert body["acr"] == "urn:jpki-idp:acr:ial2-aal2"
    assert isinstance(body["auth_time"], int)
    assert body["client_id"] == rp.client_id


def test_introspection_by_another_client_says_inactive(rp: Rp) -> None:
    tokens = _tokens(rp)
    other_id, other_secret = register(rp.app, name="Other")
    body = rp.browser.post("/introspect", auth=(other_id, other_secret),
                           data={"token": tokens["access_token"]}).get_json()
    assert body == {"active": False}


def test_revoking_the_refresh_token_revokes_the_access_token_too(rp: Rp) -> None:
    tokens = _tokens(rp)
    response = rp.browser.post("/revoke", auth=(rp.client_id, rp.secret),
                               data={"token": tokens["refresh_token"]})
    assert response.status_code == 200
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert rp.browser.get("/userinfo", headers=bearer).status_code == 401


def test_revoking_an_access_token_leaves_the_refresh_token_usable(rp: Rp) -> None:
    tokens = _tokens(rp)
    rp.browser.post("/revoke", auth=(rp.client_id, rp.secret),
                    data={"token": tokens["access_token"]})
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert rp.browser.get("/userinfo", headers=bearer).status_code == 401
    refreshed = rp.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.status_code == 200


def test_revoking_an_unknown_token_is_not_an_error(rp: Rp) -> None:
    response = rp.browser.post("/revoke", auth=(rp.client_id, rp.secret),
                               data={"token": "nothing"})
    assert response.status_code == 200


def test_opaque_access_tokens_work_at_userinfo(app: Flask) -> None:
    client_id, secret = register(app, access_token_format="opaque")
    rp = Rp(app, app.test_client(), client_id, secret)
    tokens = _tokens(rp)
    assert tokens["access_token"].count(".") == 0
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert rp.browser.get("/userinfo", headers=bearer).status_code == 200


def test_jwt_access_tokens_follow_rfc9068(rp: Rp) -> None:
    from joserfc import jwt
    from joserfc.jwk import KeySet

    tokens = _tokens(rp)
    keys = KeySet.import_key_set(rp.browser.get("/jwks").get_json())
    decoded = jwt.decode(tokens["access_token"], keys)
    assert decoded.header["typ"] == "at+jwt"
    for claim in ("iss", "exp", "aud", "sub", "client_id", "iat", "jti", "acr", "auth_time"):
        assert claim in decoded.claims


def test_public_client_exchanges_a_code_with_pkce_and_no_secret(app: Flask) -> None:
    client_id, secret = register(app, auth_method="none")
    assert secret is None
    rp = Rp(app, app.test_client(), client_id, None)
    rp.login()
    code, verifier = rp.code()
    response = rp.browser.post("/token", data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "redirect_uri": REDIRECT, "client_id": client_id})
    assert response.status_code == 200, response.get_json()


def test_rs256_and_ps256_id_tokens_per_client(app: Flask) -> None:
    from joserfc import jws

    for alg in ("RS256", "PS256"):
        client_id, secret = register(app, id_token_alg=alg)
        rp = Rp(app, app.test_client(), client_id, secret)
        tokens = _tokens(rp)
        assert jws.extract_compact(tokens["id_token"].encode()).headers()["alg"] == alg
