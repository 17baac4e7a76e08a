"""The audit hooks: a passkey login, its tokens, consent and logout are recorded with the request
id, by the right actor, and never with a secret (client secret, code, verifier, token)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flask import Flask

from idp.app import services_of
from idp.audit import checkpoints
from idp.audit.entries import Entry
from idp.request_context import bind_request_id
from idp.settings import Settings
from tests.support.webauthn_authenticator import SoftAuthenticator
from tests.unit.oidc.conftest import Rp, idp_app, query
from tests.unit.web.test_passkey_flow import (
    FakeChecker,
    claims_of,
    log_out,
    register_passkey,
    sign_in,
)


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    """The IdP on the parametrised database, with a fake anchor checker."""
    with idp_app(settings, anchors=FakeChecker()) as application:
        yield application


@pytest.fixture
def rp(app: Flask) -> Rp:
    return Rp.registered(app)


def as_request(rp: Rp, request_id: str) -> None:
    """The next requests carry ``X-Request-Id`` (the web layer binds it), and the id is bound
    here too, as the web layer does for the request it serves."""
    rp.browser.environ_base["HTTP_X_REQUEST_ID"] = request_id
    bind_request_id(request_id)


def recorded(app: Flask, action: str) -> list[Entry]:
    return services_of(app).audit.entries(action=action, limit=None)


def test_a_passkey_login_and_its_tokens_are_audited_with_the_request_id(
        app: Flask, rp: Rp) -> None:
    authenticator = SoftAuthenticator()
    private_id, state = register_passkey(rp, authenticator)
    as_request(rp, "req-consent")
    rp.act(state, "consent", {"approve": True, "claims": state["requested"]["claims"]})
    log_out(rp)

    as_request(rp, "req-passkey-login")
    _location, answer, verifier = sign_in(rp, authenticator)
    assert answer.status_code == 200, answer.get_json()
    as_request(rp, "req-token")
    tokens = rp.exchange(query(answer.get_json()["redirect_to"])["code"], verifier).get_json()
    as_request(rp, "req-refresh")
    refreshed = rp.token(grant_type="refresh_token",
                         refresh_token=tokens["refresh_token"]).get_json()
    assert "access_token" in refreshed

    [consent] = recorded(app, "consent.given")
    assert (consent.actor, consent.target, consent.request_id) == (
        f"person:{private_id}", f"rp:{rp.client_id}", "req-consent")
    login = [e for e in recorded(app, "login") if e.request_id == "req-passkey-login"]
    assert len(login) == 1
    assert (login[0].actor, login[0].outcome) == (f"person:{private_id}", "ok")
    assert "hwk" in login[0].details["method"]
    assert login[0].details["level"]
    issued = recorded(app, "token.issued")
    assert [(e.request_id, e.details["grant_type"]) for e in issued] == [
        ("req-token", "authorization_code"), ("req-refresh", "refresh_token")]
    assert {(e.actor, e.target) for e in issued} == {(f"rp:{rp.client_id}",
                                                       f"person:{private_id}")}
    assert issued[0].details["acr"] == claims_of(tokens["id_token"])["acr"]

    everything = _export(app)
    for secret in (rp.secret, verifier, tokens["access_token"], tokens["id_token"],
                   tokens["refresh_token"], refreshed["refresh_token"],
                   query(answer.get_json()["redirect_to"])["code"]):
        assert secret
        assert secret not in everything
    checkpoints.verify_log(services_of(app).audit, services_of(app).keys)


def test_a_refused_passkey_sign_in_and_a_logout_are_audited(app: Flask, rp: Rp) -> None:
    authenticator = SoftAuthenticator()
    private_id, _ = register_passkey(rp, authenticator)
    log_out(rp)
    location, verifier = rp.authorize()
    state = rp.interaction(location)
    options = rp.act(state, "passkey_options", {}).get_json()["options"]
    assertion = authenticator.get(json.dumps(options), origin="https://phish.example")
    as_request(rp, "req-refused")
    assert rp.act(state, "passkey_verify", {"credential": assertion}).status_code >= 400
    [refused] = [e for e in recorded(app, "login") if e.outcome == "refused"]
    assert (refused.actor, refused.request_id) == ("anonymous", "req-refused")
    assert refused.details["method"] == ["passkey"]
    assert refused.details["reason"]

    rp.login(private_id=private_id)
    tokens = rp.exchange(*rp.code()).get_json()
    as_request(rp, "req-logout")
    rp.browser.get("/logout", query_string={"id_token_hint": tokens["id_token"]})
    [logout] = recorded(app, "logout")
    assert (logout.actor, logout.target, logout.request_id) == (
        f"person:{private_id}", None, "req-logout")
    assert verifier not in _export(app)


def _export(app: Flask) -> str:
    return "\n".join(json.dumps(e.to_json(), ensure_ascii=False)
                     for e in services_of(app).audit.scan())
