"""The Authlib comparison measures what it claims: both sides really exchange codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from joserfc import jwt

from bench import authlib_token
from bench.authlib_server import AuthlibServer, MemoryStore, SqliteStore
from bench.token_endpoint import CHALLENGE, REDIRECT_URI


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_authlib_side_issues_es256_id_tokens_for_every_code(tmp_path: Path, kind: str) -> None:
    timing = authlib_token.run_authlib(3, kind, tmp_path)
    assert (timing.name, timing.exchanges) == (f"authlib ({kind})", 3)
    assert timing.p50_us > 0


def test_authlib_side_refuses_a_code_twice_and_a_wrong_verifier(tmp_path: Path) -> None:
    for store in (MemoryStore(), SqliteStore(tmp_path / "a.sqlite3")):
        server = AuthlibServer(store)
        client_id, secret = server.add_client(REDIRECT_URI)
        code = server.mint_code(client_id, REDIRECT_URI, CHALLENGE, nonce="n")
        browser = server.app.test_client()
        headers = authlib_token.basic(client_id, secret)
        first = browser.post("/token", data=authlib_token.token_form(code), headers=headers)
        again = browser.post("/token", data=authlib_token.token_form(code), headers=headers)
        assert (first.status_code, again.status_code) == (200, 400)
        header = jwt.decode(first.get_json()["id_token"], server.signing_key).header
        assert header["alg"] == "ES256"
        other = server.mint_code(client_id, REDIRECT_URI, CHALLENGE, nonce="n")
        wrong = {**authlib_token.token_form(other), "code_verifier": "x" * 43}
        assert browser.post("/token", data=wrong, headers=headers).status_code == 400


def test_our_side_is_timed_on_real_exchanges(tmp_path: Path) -> None:
    timing = authlib_token.run_ours(3, tmp_path)
    assert (timing.name, timing.exchanges) == ("ours (sqlite)", 3)


def test_an_answer_without_tokens_stops_the_measurement() -> None:
    with pytest.raises(RuntimeError, match="did not issue the tokens"):
        authlib_token.timed("x", lambda _code: {"error": "invalid_grant"}, ["c"])
