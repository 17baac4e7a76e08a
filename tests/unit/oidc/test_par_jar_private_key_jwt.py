"""PAR (RFC 9126), signed request objects (RFC 9101), private_key_jwt (RFC 7523)."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import pytest
from flask import Flask
from joserfc import jws, jwt
from joserfc.jwk import ECKey
from sqlalchemy import func, select, update

from idp import db
from idp.app import services_of
from idp.oidc.clients import ASSERTION_TYPE
from idp.oidc.models import AuthorizationCode, Grant, Interaction, PushedRequest
from tests.unit.oidc.conftest import ISSUER, REDIRECT, Rp, pkce, query, register


@pytest.fixture
def key() -> ECKey:
    return ECKey.generate_key("P-256")


@pytest.fixture
def jwt_rp(app: Flask, key: ECKey) -> Rp:
    jwks = {"keys": [{**key.as_dict(private=False), "kid": "rp-1"}]}
    client_id, _ = register(app, auth_method="private_key_jwt", jwks=jwks)
    return Rp(app, app.test_client(), client_id, None)


def assertion(rp: Rp, key: ECKey, **overrides: Any) -> dict[str, str]:
    claims = {"iss": rp.client_id, "sub": rp.client_id, "aud": f"{ISSUER}/token",
              "jti": secrets.token_urlsafe(8), "exp": int(time.time()) + 60, **overrides}
    return {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": jwt.encode({"alg": "ES256", "kid": "rp-1"}, claims, key)}


def _authorization_params(rp: Rp, challenge: str) -> dict[str, str]:
    return {"client_id": rp.client_id, "redirect_uri": REDIRECT, "response_type": "code",
            "scope": "openid", "state": "st-1", "nonce": "n", "code_challenge": challenge,
            "code_challenge_method": "S256"}


def test_pushed_request_then_authorize_with_request_uri_only(rp: Rp) -> None:
    rp.login()
    verifier, challenge = pkce()
    pushed = rp.browser.post("/par", auth=(rp.client_id, rp.secret),
                             data=_authorization_params(rp, challenge))
    assert pushed.status_code == 201, pushed.get_json()
    request_uri = pushed.get_json()["request_uri"]
    assert request_uri.startswith("urn:ietf:params:oauth:request_uri:")
    response = rp.browser.get("/authorize", query_string={"client_id": rp.client_id,
                                                          "request_uri": request_uri})
    state = rp.interaction(response.headers["Location"])
    redirect_to = rp.act(state, "consent", {"approve": True, "claims": []}).get_json()[
        "redirect_to"]
    assert rp.exchange(query(redirect_to)["code"], verifier).status_code == 200
    again = rp.browser.get("/authorize", query_string={"client_id": rp.client_id,
                                                       "request_uri": request_uri})
    assert again.status_code == 400  # used: invalid_request_uri, shown, not redirected


def test_par_validates_like_authorize(rp: Rp) -> None:
    _, challenge = pkce()
    params = {**_authorization_params(rp, challenge), "code_challenge_method": "plain"}
    response = rp.browser.post("/par", auth=(rp.client_id, rp.secret), data=params)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_par_needs_client_authentication(rp: Rp) -> None:
    _, challenge = pkce()
    response = rp.browser.post("/par", data=_authorization_params(rp, challenge))
    assert response.status_code == 401


def test_private_key_jwt_authenticates_at_the_token_endpoint(jwt_rp: Rp, key: ECKey) -> None:
    jwt_rp.login()
    code, verifier = jwt_rp.code()
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": REDIRECT, **assertion(jwt_rp, key)}
    response = jwt_rp.browser.post("/token", data=form)
    assert response.status_code == 200, response.get_json()


def test_a_client_assertion_cannot_be_replayed(jwt_rp: Rp, key: ECKey) -> None:
    creds = assertion(jwt_rp, key)
    first = jwt_rp.browser.post("/revoke", data={"token": "x", **creds})
    assert first.status_code == 200
    second = jwt_rp.browser.post("/revoke", data={"token": "x", **creds})
    assert second.status_code == 401


@pytest.mark.parametrize("overrides", [{"aud": "https://other.example"},
                                       {"exp": int(time.time()) - 10},
                                       {"sub": "someone-else"}])
def test_bad_client_assertions_are_refused(jwt_rp: Rp, key: ECKey,
                                           overrides: dict[str, Any]) -> None:
    response = jwt_rp.browser.post("/revoke", data={"token": "x",
                                                    **assertion(jwt_rp, key, **overrides)})
    assert response.status_code == 401


def test_assertion_signed_by_another_key_is_refused(jwt_rp: Rp) -> None:
    response = jwt_rp.browser.post("/revoke", data={
        "token": "x", **assertion(jwt_rp, ECKey.generate_key("P-256"))})
    assert response.status_code == 401


def test_signed_request_object_is_accepted(jwt_rp: Rp, key: ECKey) -> None:
    jwt_rp.login()
    _, challenge = pkce()
    request = jwt.encode({"alg": "ES256", "kid": "rp-1"}, {
        **_authorization_params(jwt_rp, challenge), "iss": jwt_rp.client_id, "aud": ISSUER,
        "exp": int(time.time()) + 60}, key)
    response = jwt_rp.browser.get("/authorize", query_string={
        "client_id": jwt_rp.client_id, "request": request})
    assert "/interaction/" in response.headers["Location"]


def test_request_object_for_another_audience_is_refused(jwt_rp: Rp, key: ECKey) -> None:
    _, challenge = pkce()
    request = jwt.encode({"alg": "ES256", "kid": "rp-1"}, {
        **_authorization_params(jwt_rp, challenge), "iss": jwt_rp.client_id,
        "aud": "https://other.example"}, key)
    response = jwt_rp.browser.get("/authorize", query_string={
        "client_id": jwt_rp.client_id, "request": request, "redirect_uri": REDIRECT})
    assert "error=invalid_request_object" in response.headers["Location"]


def _push(rp: Rp) -> str:
    _, challenge = pkce()
    pushed = rp.browser.post("/par", auth=(rp.client_id, rp.secret),
                             data=_authorization_params(rp, challenge))
    assert pushed.status_code == 201, pushed.get_json()
    request_uri: str = pushed.get_json()["request_uri"]
    return request_uri


def test_a_request_uri_is_refused_once_used_once_expired_and_for_another_client(
        app: Flask, rp: Rp) -> None:
    rp.login()
    other_id, _ = register(app)

    def refused(client_id: str, request_uri: str) -> str:
        answer = rp.browser.get("/authorize", headers={"Accept": "application/json"},
                                query_string={"client_id": client_id, "request_uri": request_uri})
        assert answer.status_code == 400  # shown, never redirected (RFC 9126 §4)
        error: str = answer.get_json()["error"]
        return error

    pushed = _push(rp)
    assert refused(other_id, pushed) == "invalid_request_uri"  # another client's
    first = rp.browser.get("/authorize", query_string={"client_id": rp.client_id,
                                                       "request_uri": pushed})
    assert first.status_code in (302, 303)  # the foreign attempt did not spend it
    assert refused(rp.client_id, pushed) == "invalid_request_uri"  # used

    expiring = _push(rp)
    with db.transaction(services_of(app).sessions) as session:
        session.execute(update(PushedRequest).values(expires_at=int(time.time()) - 1))
    assert refused(rp.client_id, expiring) == "invalid_request_uri"  # expired


def test_a_client_assertion_cannot_be_replayed_at_the_token_endpoint(
        db_app: Flask, key: ECKey) -> None:
    """On both databases: the token endpoint keeps the assertion's jti (it commits it)."""
    jwks = {"keys": [{**key.as_dict(private=False), "kid": "rp-1"}]}
    client_id, _ = register(db_app, auth_method="private_key_jwt", jwks=jwks)
    jwt_rp = Rp(db_app, db_app.test_client(), client_id, None)
    jwt_rp.login()
    creds = assertion(jwt_rp, key)
    code, verifier = jwt_rp.code()
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": REDIRECT}
    assert jwt_rp.browser.post("/token", data={**form, **creds}).status_code == 200
    code, verifier = jwt_rp.code()
    replayed = jwt_rp.browser.post("/token", data={**form, "code": code,
                                                   "code_verifier": verifier, **creds})
    assert replayed.status_code == 401
    assert replayed.get_json()["error"] == "invalid_client"
    assert "already used" in replayed.get_json()["error_description"]


def _stored(app: Flask) -> dict[str, int]:
    with services_of(app).sessions() as session:
        return {model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (Interaction, Grant, AuthorizationCode, PushedRequest)}


@pytest.mark.parametrize("members", [
    {"nonce": {"n": 1}}, {"state": 7}, {"scope": ["openid"]}, {"max_age": 1.5},
    {"max_age": True}, {"code_challenge": None}, {"acr_values": ["urn:x"]}, {"claims": 5},
    {"state": "\ud800"}, {"nonce": "\udfff-n"}])
def test_a_request_object_member_of_the_wrong_type_is_refused_before_anything_is_stored(
        jwt_rp: Rp, key: ECKey, members: dict[str, Any]) -> None:
    """OIDC Core §6.1: the members are the parameters as JSON — claims an object, max_age a
    number, the others strings (text UTF-8 can carry: JSON can escape a lone surrogate)."""
    jwt_rp.login()
    _, challenge = pkce()
    payload = json.dumps({**_authorization_params(jwt_rp, challenge), "iss": jwt_rp.client_id,
                          "aud": ISSUER, "exp": int(time.time()) + 60, **members})
    request = jws.serialize_compact({"alg": "ES256", "kid": "rp-1"}, payload, key)
    before = _stored(jwt_rp.app)
    response = jwt_rp.browser.get("/authorize", query_string={
        "client_id": jwt_rp.client_id, "request": request, "redirect_uri": REDIRECT})
    assert query(response.headers["Location"])["error"] == "invalid_request_object"
    pushed = jwt_rp.browser.post("/par", data={"request": request,
                                               **assertion(jwt_rp, key, aud=f"{ISSUER}/par")})
    assert pushed.status_code == 400
    assert pushed.get_json()["error"] == "invalid_request_object"
    assert _stored(jwt_rp.app) == before


def test_a_request_object_carries_only_the_authorization_parameters(
        jwt_rp: Rp, key: ECKey) -> None:
    """Members that are no parameter of ours are left out of what /par stores (RFC 9101 §6.3:
    only the request object's parameters are used), whatever they hold."""
    _, challenge = pkce()
    request = jwt.encode({"alg": "ES256", "kid": "rp-1"}, {
        **_authorization_params(jwt_rp, challenge), "iss": jwt_rp.client_id, "aud": ISSUER,
        "exp": int(time.time()) + 60, "max_age": 300, "claims": {"userinfo": {"name": None}},
        "x-extension": {"deep": [[[[1]]]]}, "request_uri": "urn:x"}, key)
    pushed = jwt_rp.browser.post("/par", data={"request": request,
                                               **assertion(jwt_rp, key, aud=f"{ISSUER}/par")})
    assert pushed.status_code == 201, pushed.get_json()
    with services_of(jwt_rp.app).sessions() as session:
        (params,) = session.scalars(select(PushedRequest.params)).all()
    assert set(params) == {*_authorization_params(jwt_rp, challenge), "max_age", "claims"}
    assert params["max_age"] == "300"


def _signed_payload(key: ECKey, payload: str) -> str:
    return jws.serialize_compact({"alg": "ES256", "kid": "rp-1"}, payload.encode(
        "utf-8", "surrogatepass"), key)


_CLIENT_AUTHENTICATED = {"/token": {"grant_type": "refresh_token", "refresh_token": "x"},
                         "/par": {"response_type": "code"}, "/introspect": {"token": "x"},
                         "/revoke": {"token": "x"}}


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded",
                                          "multipart/form-data"])
@pytest.mark.parametrize("endpoint", sorted(_CLIENT_AUTHENTICATED))
@pytest.mark.parametrize("payload", [
    "[" * 50_000 + "]" * 50_000, '{"iss": ' + "[" * 50_000 + "]" * 50_000 + "}",
    '{"iss": "\\ud800"}', '{"iss": {"client": 1}}'], ids=[
    "nested deeper than the parser goes", "an iss nested too deep", "an iss no text can hold",
    "an iss that is an object"])
def test_an_unreadable_client_assertion_is_invalid_client(
        jwt_rp: Rp, key: ECKey, endpoint: str, payload: str, content_type: str) -> None:
    """Without client_id, the assertion's iss names the client (RFC 7523 §3); a payload that
    names none is client authentication failed, on the Flask routes and on the token
    endpoint's fast path (a urlencoded form) and Flask route (anything else) alike."""
    response = jwt_rp.browser.post(endpoint, content_type=content_type, data={
        **_CLIENT_AUTHENTICATED[endpoint], "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": _signed_payload(key, payload)})
    assert response.status_code == 401, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("claims", [
    {"aud": [{"uri": ISSUER}]}, {"aud": {"uri": ISSUER}}, {"exp": float("nan")},
    {"jti": "\udc00"}, {"jti": ["j"]}], ids=repr)
def test_a_signed_assertion_with_claims_of_the_wrong_type_is_invalid_client(
        jwt_rp: Rp, key: ECKey, claims: dict[str, Any]) -> None:
    mine = {"iss": jwt_rp.client_id, "sub": jwt_rp.client_id, "aud": f"{ISSUER}/token",
            "jti": secrets.token_urlsafe(8), "exp": int(time.time()) + 60, **claims}
    response = jwt_rp.browser.post("/revoke", data={
        "token": "x", "client_id": jwt_rp.client_id, "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": _signed_payload(key, json.dumps(mine))})
    assert response.status_code == 401, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"] == "invalid_client"


def test_an_assertion_valid_for_ages_is_kept_as_long_as_the_database_can_say(
        db_app: Flask, key: ECKey) -> None:
    """RFC 7519 §2 sets no bound on exp: its jti is kept until the column's largest time, and
    the assertion stays refused as a replay (on both databases)."""
    jwks = {"keys": [{**key.as_dict(private=False), "kid": "rp-1"}]}
    client_id, _ = register(db_app, auth_method="private_key_jwt", jwks=jwks)
    rp = Rp(db_app, db_app.test_client(), client_id, None)
    creds = assertion(rp, key, aud=f"{ISSUER}/revoke", exp=10**30)
    assert rp.browser.post("/revoke", data={"token": "x", **creds}).status_code == 200
    replayed = rp.browser.post("/revoke", data={"token": "x", **creds})
    assert replayed.status_code == 401
    assert "already used" in replayed.get_json()["error_description"]
