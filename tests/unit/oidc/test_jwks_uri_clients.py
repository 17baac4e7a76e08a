"""Clients registered with a jwks_uri: private_key_jwt and request objects verified with the
keys the RP publishes, key rotation at the RP, clear refusals when the keys cannot be had."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from joserfc import jwt
from joserfc.jwk import ECKey

from idp import db
from idp.app import services_of
from idp.cli import cli
from idp.oidc import client_keys
from idp.oidc.models import Client
from idp.settings import Settings
from tests.support.http_stub import Stub, http_stub
from tests.unit.oidc.conftest import ISSUER, REDIRECT, Rp, pkce, register

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def published(*keys: tuple[str, ECKey]) -> tuple[int, bytes, float]:
    jwks = {"keys": [{**key.as_dict(private=False), "kid": kid} for kid, key in keys]}
    return 200, json.dumps(jwks).encode(), 0.0


def assertion(client_id: str, key: ECKey, kid: str) -> dict[str, str]:
    claims = {"iss": client_id, "sub": client_id, "aud": f"{ISSUER}/token",
              "jti": secrets.token_urlsafe(8), "exp": int(time.time()) + 60}
    return {"client_assertion_type": ASSERTION_TYPE,
            "client_assertion": jwt.encode({"alg": "ES256", "kid": kid}, claims, key)}


@pytest.fixture
def key() -> ECKey:
    return ECKey.generate_key("P-256")


@pytest.fixture
def rp_keys(key: ECKey) -> Iterator[Stub]:
    with http_stub(published(("k1", key))) as stub:
        yield stub


def uri_rp(app: Flask, stub: Stub) -> Rp:
    client_id, _ = register(app, auth_method="private_key_jwt", jwks_uri=stub.base_url + "/jwks")
    services_of(app).oidc.clients.remote_keys.min_refetch_seconds = 0
    return Rp(app, app.test_client(), client_id, None)


def test_private_key_jwt_verifies_with_the_keys_at_the_jwks_uri(
        db_app: Flask, rp_keys: Stub, key: ECKey) -> None:
    rp = uri_rp(db_app, rp_keys)
    rp.login()
    code, verifier = rp.code()
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": REDIRECT, **assertion(rp.client_id, key, "k1")}
    assert rp.browser.post("/token", data=form).status_code == 200
    again = rp.browser.post("/revoke", data={"token": "x", **assertion(rp.client_id, key, "k1")})
    assert again.status_code == 200
    assert [path for path, _ in rp_keys.requests] == ["/jwks"]  # cached, fetched once
    with db.transaction(services_of(db_app).sessions) as session:
        row = session.get(Client, rp.client_id)
        assert row is not None
        assert (row.jwks_uri, row.jwks) == (rp_keys.base_url + "/jwks", None)


def test_a_new_kid_at_the_rp_is_fetched_once(app: Flask, rp_keys: Stub, key: ECKey) -> None:
    rp = uri_rp(app, rp_keys)
    assert rp.browser.post("/revoke", data={"token": "x",
                                            **assertion(rp.client_id, key, "k1")}).status_code \
        == 200
    rotated = ECKey.generate_key("P-256")
    rp_keys.answers = [published(("k2", rotated))]
    answer = rp.browser.post("/revoke", data={"token": "x",
                                              **assertion(rp.client_id, rotated, "k2")})
    assert answer.status_code == 200
    stale = rp.browser.post("/revoke", data={"token": "x",
                                             **assertion(rp.client_id, key, "k1")})
    assert stale.status_code == 401
    assert "not at the client's jwks_uri" in stale.get_json()["error_description"]
    assert len(rp_keys.requests) == 3  # first fetch, k2 rotation, k1 now unknown


def test_an_unreachable_jwks_uri_is_invalid_client(app: Flask, key: ECKey) -> None:
    with http_stub(published(("k1", key))) as stub:
        rp = uri_rp(app, stub)
    answer = rp.browser.post("/revoke", data={"token": "x", **assertion(rp.client_id, key, "k1")})
    assert answer.status_code == 401
    assert answer.get_json() == {"error": "invalid_client", "error_description":
                                 "the client's jwks_uri could not be fetched (ConnectionError)"}


def test_a_jwks_uri_that_does_not_answer_in_time_is_invalid_client(
        app: Flask, key: ECKey, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_keys, "FETCH_TIMEOUT_SECONDS", 0.2)
    with http_stub((200, b"{}", 1.0)) as stub:
        rp = uri_rp(app, stub)
        answer = rp.browser.post("/revoke",
                                 data={"token": "x", **assertion(rp.client_id, key, "k1")})
    assert answer.status_code == 401
    assert "could not be fetched (ReadTimeout)" in answer.get_json()["error_description"]


def _request_object(client_id: str, key: ECKey, kid: str) -> str:
    _, challenge = pkce()
    claims: dict[str, Any] = {
        "iss": client_id, "aud": ISSUER, "exp": int(time.time()) + 60, "client_id": client_id,
        "redirect_uri": REDIRECT, "response_type": "code", "scope": "openid", "nonce": "n",
        "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"}
    return jwt.encode({"alg": "ES256", "kid": kid}, claims, key)


def test_signed_request_objects_verify_with_the_jwks_uri(app: Flask, rp_keys: Stub,
                                                         key: ECKey) -> None:
    rp = uri_rp(app, rp_keys)
    form = {"client_id": rp.client_id, "request": _request_object(rp.client_id, key, "k1"),
            **assertion(rp.client_id, key, "k1")}
    assert rp.browser.post("/par", data=form).status_code == 201


def test_a_request_object_with_unreachable_keys_is_invalid_request_object(
        app: Flask, key: ECKey) -> None:
    with http_stub(published(("k1", key))) as stub:
        client_id, secret = register(app, jwks_uri=stub.base_url + "/jwks")
    assert secret is not None
    answer = app.test_client().post("/par", auth=(client_id, secret), data={
        "client_id": client_id, "request": _request_object(client_id, key, "k1")})
    assert answer.status_code == 400
    assert answer.get_json() == {
        "error": "invalid_request_object", "error_description": "the request object cannot be "
        "verified: the client's jwks_uri could not be fetched (ConnectionError)"}


def test_clients_add_takes_a_jwks_uri_and_refuses_plain_http(settings: Settings) -> None:
    runner = CliRunner()
    env = {"IDP_VAR_DIR": str(settings.var_dir), "IDP_DATABASE_URL": settings.database_url}
    base = ["clients", "add", "--name", "RP", "--redirect-uri", REDIRECT,
            "--auth-method", "private_key_jwt", "--json"]
    refused = runner.invoke(cli, [*base, "--jwks-uri", "http://rp.example/jwks"], env=env)
    assert refused.exit_code == 1
    assert "must be an https URL" in refused.output
    added = runner.invoke(cli, [*base, "--jwks-uri", "https://rp.example/jwks"], env=env)
    assert added.exit_code == 0, added.output
    client_id = json.loads(added.output)["client_id"]
    engine = db.make_engine(settings.database_url)
    try:
        with db.transaction(db.make_sessionmaker(engine)) as session:
            row = session.get(Client, client_id)
            assert row is not None
            assert row.jwks_uri == "https://rp.example/jwks"
    finally:
        engine.dispose()


def test_keys_inline_and_by_uri_together_are_refused(app: Flask, key: ECKey) -> None:
    from idp.oidc.errors import InvalidRequestError

    jwks = {"keys": [key.as_dict(private=False)]}
    with pytest.raises(InvalidRequestError, match="not both"):
        register(app, auth_method="private_key_jwt", jwks=jwks,
                 jwks_uri="https://rp.example/jwks")
