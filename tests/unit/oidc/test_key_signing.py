"""Tokens the key store signs verify with an independent JOSE library against the JWKS."""

from __future__ import annotations

from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.oidc.errors import InvalidTokenError
from idp.oidc.keys import ALGORITHMS, KeyStore

CLAIMS = {"iss": "https://idp.example", "sub": "s-1", "aud": "rp", "iat": 1, "exp": 2,
          "amr": ["hwk", "pin"], "name": "山田 太郎"}


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_a_signed_token_verifies_against_the_published_jwks(tmp_path: Path, alg: str) -> None:
    store = KeyStore(tmp_path, retention_seconds=600)
    store.ensure()
    token = store.sign(dict(CLAIMS), alg, typ="at+jwt")
    published = KeySet.import_key_set(store.jwks())
    decoded = jwt.decode(token, published, algorithms=[alg])
    assert decoded.claims == CLAIMS
    assert decoded.header["typ"] == "at+jwt"
    assert decoded.header["kid"] in {key["kid"] for key in store.jwks()["keys"]}


def test_a_token_signed_before_a_rotation_names_the_old_key_and_still_verifies(
        tmp_path: Path) -> None:
    store = KeyStore(tmp_path, retention_seconds=600)
    store.ensure()
    before = store.sign(dict(CLAIMS))
    store.rotate()
    after = store.sign(dict(CLAIMS))
    assert before.split(".")[0] != after.split(".")[0]  # the header names another kid
    for token in (before, after):
        assert store.verify(token) == CLAIMS


def test_a_tampered_payload_fails_verification(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, retention_seconds=600)
    store.ensure()
    header, _, signature = store.sign(dict(CLAIMS)).split(".")
    forged = store.sign({**CLAIMS, "sub": "someone-else"}).split(".")[1]
    with pytest.raises(InvalidTokenError, match="not a valid token"):
        store.verify(f"{header}.{forged}.{signature}")
