"""A client's keys at its jwks_uri: allowed URIs, limits, caching, refetch on rotation."""

from __future__ import annotations

import json

import pytest
import requests
import responses
from joserfc.jwk import ECKey

from idp.oidc import client_keys
from idp.oidc.client_keys import ClientKeysError, RemoteKeySets, check_jwks_uri, http_fetch
from idp.oidc.errors import InvalidRequestError


def jwks(*kids: str) -> bytes:
    keys = [{**ECKey.generate_key("P-256").as_dict(private=False), "kid": kid} for kid in kids]
    return json.dumps({"keys": keys}).encode()


@pytest.mark.parametrize("uri", ["https://rp.example/jwks", "http://localhost:8080/jwks",
                                 "http://127.0.0.1:9/jwks", "http://[::1]/jwks"])
def test_https_and_loopback_http_uris_are_accepted(uri: str) -> None:
    assert check_jwks_uri(uri) == uri


@pytest.mark.parametrize("uri", ["http://rp.example/jwks", "ftp://rp.example/jwks",
                                 "https:///jwks", "https://rp.example/jwks#frag",
                                 "http://10.0.0.1/jwks"])
def test_other_uris_are_refused_at_registration(uri: str) -> None:
    with pytest.raises(InvalidRequestError, match="must be an https URL"):
        check_jwks_uri(uri)


class Fetches:
    def __init__(self, *bodies: bytes) -> None:
        self.bodies = list(bodies)
        self.count = 0

    def __call__(self, uri: str) -> bytes:
        self.count += 1
        return self.bodies.pop(0) if len(self.bodies) > 1 else self.bodies[0]


def test_a_key_set_is_fetched_once_and_kept_for_the_ttl() -> None:
    fetches = Fetches(jwks("a"))
    sets = RemoteKeySets(fetches, ttl=300, min_refetch_seconds=0)
    first = sets.get("https://rp.example/jwks")
    again = sets.get("https://rp.example/jwks")
    assert (fetches.count, [k.kid for k in again.keys]) == (1, ["a"])
    assert first is again


def test_refresh_fetches_again_but_not_twice_within_the_refetch_interval() -> None:
    fetches = Fetches(jwks("a"), jwks("b"))
    sets = RemoteKeySets(fetches, ttl=300, min_refetch_seconds=60)
    sets.get("https://rp.example/jwks")
    assert [k.kid for k in sets.get("https://rp.example/jwks", refresh=True).keys] == ["a"]
    assert fetches.count == 1  # a stream of unknown kids must not hammer the RP
    sets.min_refetch_seconds = 0
    assert [k.kid for k in sets.get("https://rp.example/jwks", refresh=True).keys] == ["b"]


def test_an_expired_entry_is_fetched_again() -> None:
    fetches = Fetches(jwks("a"), jwks("b"))
    sets = RemoteKeySets(fetches, ttl=0, min_refetch_seconds=0)
    sets.get("https://rp.example/jwks")
    assert [k.kid for k in sets.get("https://rp.example/jwks").keys] == ["b"]


@pytest.mark.parametrize(("body", "reason"), [
    (b"<html>", "did not return JSON"),
    (b'{"keys": 1}', "is not a JWK Set"),
    (json.dumps({"keys": [ECKey.generate_key("P-256").as_dict(private=True)]}).encode(),
     "holds a private key"),
    (b'{"keys": [{"kty": "EC", "crv": "P-256", "x": "AA"}]}', "cannot be used"),
])
def test_what_is_not_a_public_jwk_set_is_refused(body: bytes, reason: str) -> None:
    sets = RemoteKeySets(Fetches(body))
    with pytest.raises(ClientKeysError, match=reason) as caught:
        sets.get("https://rp.example/jwks")
    assert (caught.value.code, caught.value.status) == ("invalid_client", 401)


def test_a_stored_non_https_uri_is_never_fetched() -> None:
    fetches = Fetches(jwks("a"))
    with pytest.raises(ClientKeysError, match="not an https URL"):
        RemoteKeySets(fetches).get("http://rp.example/jwks")
    assert fetches.count == 0


@responses.activate
def test_fetch_refuses_errors_redirects_and_oversized_answers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    responses.get("https://rp.example/500", status=500)
    responses.get("https://rp.example/moved", status=302,
                  headers={"Location": "https://elsewhere.example/"})
    responses.get("https://rp.example/big", body=b"x" * 2048)
    responses.get("https://rp.example/down", body=requests.ConnectionError("refused"))
    monkeypatch.setattr(client_keys, "MAX_JWKS_BYTES", 1024)
    for path, reason in [("500", "answered 500"), ("moved", "answered 302"),
                         ("big", "more than 1024 bytes"), ("down", "could not be fetched")]:
        with pytest.raises(ClientKeysError, match=reason):
            http_fetch(f"https://rp.example/{path}")


@responses.activate
def test_fetch_returns_the_body() -> None:
    body = jwks("a")
    responses.get("https://rp.example/jwks", body=body)
    assert http_fetch("https://rp.example/jwks") == body


def test_a_bad_inline_set_is_refused_when_used_not_when_the_client_is_loaded() -> None:
    from idp.oidc.client_keys import InlineKeys

    keys = InlineKeys.of({"keys": "not a list"})  # loading the client does not fail
    with pytest.raises(ClientKeysError, match="is not a JWK Set"):
        keys.key_set()
