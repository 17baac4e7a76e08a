"""A claims request (OIDC Core §5.5) of the wrong shape is refused with invalid_request where it
is parsed, before anything is stored: at /authorize (GET, POST, in a request object) and at /par.
Later steps (the ID token at /token, /userinfo) read only a request that passed this check."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from flask import Flask
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import func, select

from idp.app import services_of
from idp.oidc.models import AuthorizationCode, Grant, Interaction, PushedRequest
from tests.unit.oidc.conftest import ISSUER, REDIRECT, Rp, pkce, query, register

DEEPER_THAN_THE_PARSER = "[" * 50_000 + "]" * 50_000


def _nested(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


WRONG_SHAPES = {
    "acr values a number": json.dumps({"id_token": {"acr": {"values": 5}}}),
    "acr values not strings": json.dumps({"id_token": {"acr": {"values": [1, None]}}}),
    "acr value not a string": json.dumps({"id_token": {"acr": {"value": ["urn:x"]}}}),
    "a claim's values not an array": json.dumps({"userinfo": {"name": {"values": 5}}}),
    "a claim's values null": json.dumps({"id_token": {"birthdate": {"values": None}}}),
    "essential not a boolean": json.dumps({"id_token": {"birthdate": {"essential": "yes"}}}),
    "a claim request neither an object nor null": json.dumps({"id_token": {"name": [1]}}),
    "userinfo not an object": json.dumps({"userinfo": []}),
    "id_token not an object": json.dumps({"id_token": "name"}),
    "not an object at all": json.dumps(["id_token"]),
    "NaN, which is not JSON": '{"userinfo": {"name": {"value": NaN}}}',
    "nested deeper than the parser goes": json.dumps({"id_token": None})[:-1]
    + ', "x": ' + DEEPER_THAN_THE_PARSER + "}",
    "nested deeper than any claims request": json.dumps(
        {"userinfo": {"name": {"value": _nested(30)}}}),
}


def _stored(app: Flask) -> dict[str, int]:
    with services_of(app).sessions() as db:
        return {model.__name__: db.scalar(select(func.count()).select_from(model)) or 0
                for model in (Interaction, Grant, AuthorizationCode, PushedRequest)}


def _params(rp: Rp, claims: str) -> dict[str, str]:
    _, challenge = pkce()
    return {"client_id": rp.client_id, "redirect_uri": REDIRECT, "response_type": "code",
            "scope": "openid profile", "state": "st-1", "nonce": "n-1",
            "code_challenge": challenge, "code_challenge_method": "S256", "claims": claims}


@pytest.mark.parametrize("claims", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_authorize_refuses_a_claims_request_of_the_wrong_shape(rp: Rp, claims: str,
                                                               method: str) -> None:
    rp.login()
    before = _stored(rp.app)
    params = _params(rp, claims)
    response = rp.browser.open("/authorize", method=method, **(
        {"query_string": params} if method == "GET" else {"data": params}))
    assert response.status_code == 303
    answer = query(response.headers["Location"])
    assert response.headers["Location"].startswith(REDIRECT)
    assert answer["error"] == "invalid_request", answer
    assert answer["state"] == "st-1"
    assert _stored(rp.app) == before


@pytest.mark.parametrize("claims", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
def test_par_refuses_a_claims_request_of_the_wrong_shape(rp: Rp, claims: str) -> None:
    before = _stored(rp.app)
    response = rp.browser.post("/par", auth=(rp.client_id, rp.secret), data=_params(rp, claims))
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
    assert _stored(rp.app) == before


@pytest.mark.parametrize("claims", [
    {"id_token": {"acr": {"values": 5}}}, {"userinfo": {"name": {"essential": 1}}},
    {"userinfo": {"name": {"value": _nested(30)}}}, "{not json"])
def test_a_request_object_with_a_claims_request_of_the_wrong_shape_is_refused(
        app: Flask, claims: Any) -> None:
    key = ECKey.generate_key("P-256")
    client_id, _ = register(app, auth_method="private_key_jwt",
                            jwks={"keys": [{**key.as_dict(private=False), "kid": "k"}]})
    rp = Rp(app, app.test_client(), client_id, None)
    rp.login()
    before = _stored(app)
    request = jwt.encode({"alg": "ES256", "kid": "k"}, {
        **_params(rp, ""), "claims": claims, "iss": client_id, "aud": ISSUER,
        "exp": int(time.time()) + 60}, key)
    response = rp.browser.get("/authorize", query_string={"client_id": client_id,
                                                          "request": request})
    assert query(response.headers["Location"])["error"] == "invalid_request"
    assert _stored(app) == before


def test_a_verified_claims_request_nests_deep_enough_and_is_accepted(rp: Rp) -> None:
    """The depth limit leaves room for OpenID Connect for Identity Assurance requests."""
    rp.login()
    verified = {"verification": {"trust_framework": None, "evidence": [{
        "type": {"value": "electronic_signature"}, "issuer": {"name": None}}]},
        "claims": {"given_name": None, "birthdate": {"essential": True}}}
    claims = json.dumps({"userinfo": {"verified_claims": verified},
                         "id_token": {"acr": {"essential": True,
                                              "values": ["urn:jpki-idp:acr:ial2-aal2"]}}})
    location = rp.browser.get("/authorize", query_string=_params(rp, claims)).headers["Location"]
    assert "error" not in query(location), location
