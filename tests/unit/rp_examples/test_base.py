"""The sample RPs' base without an IdP: configuration from the environment, the session store
a back-channel logout empties, the gating decisions, and the catalogue ``idp demo`` reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rp_examples.age_gate import PROFILE as AGE_GATE
from rp_examples.catalogue import CATALOGUE, available
from rp_examples.common import ConfigError, Login, RpConfig, decide, make_app, safe_next
from rp_examples.common.sessions import SessionStore
from rp_examples.shop import PROFILE as SHOP

ENV = {"RP_ISSUER": "http://localhost:8000/", "RP_CLIENT_ID": "rp_1", "RP_CLIENT_SECRET": "s"}


def _login(sid: str = "sid1", sub: str = "s1", acr: str | None = None,
           **claims: object) -> Login:
    return Login(sub=sub, sid=sid, acr=acr, amr=("hwk", "user", "mfa"), claims=claims,
                 id_token="t", id_token_claims={})


def test_config_from_the_environment() -> None:
    config = RpConfig.from_env(ENV, default_port=8003)
    assert config.issuer == "http://localhost:8000"
    assert config.base_url == "http://localhost:8003"
    assert (config.auth_method, config.par, config.lang) == ("client_secret_basic", False, "ja")


def test_a_private_key_means_private_key_jwt_and_par(tmp_path: Path) -> None:
    key = tmp_path / "key.json"
    key.write_text(json.dumps({"kty": "EC", "crv": "P-256", "kid": "k1", "x": "x", "y": "y",
                               "d": "d"}))
    env = {**ENV, "RP_CLIENT_SECRET": "", "RP_PRIVATE_KEY_FILE": str(key)}
    config = RpConfig.from_env(env, default_port=8002)
    assert (config.auth_method, config.par) == ("private_key_jwt", True)
    assert RpConfig.from_env({**env, "RP_PAR": "0"}).par is False


@pytest.mark.parametrize("env", [
    {"RP_CLIENT_ID": "rp_1"}, {**ENV, "RP_LANG": "fr"}, {"RP_ISSUER": "http://i"}])
def test_a_config_that_cannot_work_is_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        RpConfig.from_env(env)


def test_a_back_channel_logout_ends_the_sessions_of_its_sid_only() -> None:
    store = SessionStore()
    first, second = store.start(_login("sid1")), store.start(_login("sid2"))
    assert store.end_matching(sid="sid1", sub="s1") == 1
    assert store.get(first) is None
    assert store.get(second) is not None
    assert store.was_ended(first) is True
    assert store.was_ended(first) is False  # told once
    assert store.end_matching(sid=None, sub="s1") == 1  # sub alone: every session of it
    assert store.end_matching(sid=None, sub=None) == 0


def test_the_gating_table_says_why_in_the_persons_language() -> None:
    pay_later = SHOP.action("pay_later")
    assert pay_later is not None
    assert decide(pay_later, _login(acr="urn:jpki-idp:acr:ial2-aal2"), "ja").allowed
    refused = decide(pay_later, _login(acr="urn:jpki-idp:acr:ial1-aal2"), "en")
    assert not refused.allowed
    assert "proven identity" in (refused.why or "")
    assert decide(pay_later, None, "ja").why == "ログインしていません。"


@pytest.mark.parametrize(("claims", "allowed"), [
    ({"age_over_20": True}, True), ({"age_over_20": False}, False), ({}, False)])
def test_the_bar_serves_only_a_confirmed_adult(claims: dict[str, bool], allowed: bool) -> None:
    serve = AGE_GATE.action("serve_alcohol")
    assert serve is not None
    assert decide(serve, _login(**claims), "ja").allowed is allowed


@pytest.mark.parametrize(("value", "safe"), [
    ("/kiosk/done", "/kiosk/done"), ("//evil.example/", "/"), ("https://evil.example", "/"),
    ("/\\evil", "/"), (None, "/")])
def test_next_is_a_path_of_this_rp(value: str | None, safe: str) -> None:
    assert safe_next(value) == safe


def test_whoami_of_a_stranger_refuses_everything_with_a_reason() -> None:
    app = make_app(SHOP, RpConfig.from_env(ENV, default_port=8003))
    who = app.test_client().get("/whoami?lang=en").get_json()
    assert who == {"logged_in": False, "sub": None, "acr": None, "amr": [], "claims": {},
                   "allowed": {"buy": False, "pay_later": False},
                   "why": {"buy": "You are not logged in.", "pay_later": "You are not logged in."}}


def test_the_catalogue_names_the_demo_rps_with_titles_in_both_languages() -> None:
    names = [entry.name for entry in CATALOGUE]
    assert names == ["bank", "shop", "age_gate", "portal", "portal_mail", "tv"]
    assert {e.name for _, e in available()} >= {"shop", "age_gate", "portal", "portal_mail"}
    for entry in CATALOGUE:
        assert all(entry.title[lang] and entry.shows[lang] for lang in ("ja", "en"))


def test_an_idp_that_does_not_answer_is_a_clear_502() -> None:
    from tests.support.sim import free_port

    env = {**ENV, "RP_ISSUER": f"http://127.0.0.1:{free_port()}"}
    answer = make_app(SHOP, RpConfig.from_env(env, default_port=8003)).test_client().get(
        "/login")
    assert answer.status_code == 502
    assert "idp_unavailable" in answer.get_data(as_text=True)
