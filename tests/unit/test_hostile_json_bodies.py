"""Property tests: hostile JSON bodies at every place the IdP reads one get a 4xx with ``error``,
never a 5xx.

Where a body is read: the interaction actions (consent, terms, the card and passkey steps,
abort, skip), a card app's answer to a card request (``Answer.from_json``), the WebAuthn
answers of passkey sign-in and registration (py_webauthn's parsers, and the clientDataJSON
inside), and the account page's passkey rename. Each body is a well-formed one with one node
replaced by a hostile value or removed (so the parsers' later checks are reached), or any
hostile JSON text (tests/support/hostile_json.py). SQLite only: these are about parsing.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from idp.accounts.sessions import COOKIE_NAME
from idp.app import create_app, services_of
from idp.settings import Settings
from tests.support import hostile_json as hostile
from tests.support.jpki_pki import der, sign_cert
from tests.support.webauthn_authenticator import SoftAuthenticator, b64url
from tests.unit.oidc.conftest import ISSUER, Rp
from tests.unit.web.test_passkey_flow import ORIGIN, FakeChecker, register_passkey

PROPERTY = hostile.PROPERTY
# A failing example may hold a 100 kB string: Hypothesis warns that it is long to print.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")


@pytest.fixture
def app(sqlite_settings: Settings) -> Iterator[Flask]:
    """The IdP without failure throttling (on SQLite), with a fake anchor checker and a J-LIS
    configured but out of reach: no answer here gets past the trust anchors to need it."""
    application = create_app(hostile.unthrottled(sqlite_settings.model_copy(update={
        "oidc": sqlite_settings.oidc.model_copy(update={"issuer": ISSUER}),
        "jlis": sqlite_settings.jlis.model_copy(update={"url": "http://127.0.0.1:9",
                                                        "api_key": "unused"})})),
        anchors=FakeChecker())
    yield application
    services_of(application).engine.dispose()


@pytest.fixture
def rp(app: Flask) -> Rp:
    return Rp.registered(app)


def _send(browser: FlaskClient, href: str, body: str, csrf: str) -> TestResponse:
    return browser.post(href, data=body.encode("utf-8", "surrogatepass"),
                        content_type="application/json", headers={"X-CSRF-Token": csrf})


def _refused_clearly_or_done(response: TestResponse) -> None:
    text = response.get_data(as_text=True)[:500]
    assert response.status_code < 500, text
    if response.status_code >= 400:
        body = response.get_json(silent=True)
        assert isinstance(body, dict), text
        assert body.get("error"), text
        assert body.get("error_description"), text


def bodies(valid: dict[str, Any]) -> st.SearchStrategy[str]:
    """``valid`` with one node hostile or gone, or any hostile JSON text."""
    return st.one_of(hostile.mutated(valid).map(hostile.dumps), hostile.documents)


# -- interaction actions ----------------------------------------------------------------------
ACTIONS = {  # route under /interaction/{uid}/ -> a well-formed body
    "consent": {"approve": True, "claims": ["name", "birthdate"]},
    "terms": {"agree": True, "version": "2025-01"},
    "refresh_4info": {"approve": True},
    "abort": {}, "onboard": {}, "card": {}, "reissue": {}, "skip": {}, "card/continue": {},
    "passkey/options": {}, "passkey/skip": {}, "passkey/register/options": {},
}


@PROPERTY
@given(data=st.data(), action=st.sampled_from(sorted(ACTIONS)), logged_in=st.booleans())
def test_any_body_of_an_interaction_action_gets_a_4xx_or_works(
        rp: Rp, data: st.DataObject, action: str, logged_in: bool) -> None:
    rp.browser.delete_cookie(COOKIE_NAME, domain="localhost")
    if logged_in:
        rp.login()
    state = rp.interaction(rp.authorize()[0])
    body = data.draw(bodies(ACTIONS[action]), label="body")
    _refused_clearly_or_done(_send(rp.browser, f"/interaction/{state['uid']}/{action}", body,
                                   state["csrf_token"]))


# -- a card app's answer (the card request protocol, contract.md) ------------------------------
def _card_request(rp: Rp) -> str:
    """A new onboarding card request in a new interaction of an anonymous browser."""
    state = rp.interaction(rp.authorize()[0])
    agree = state["actions"]["agree"]
    assert rp.act(state, "agree", {"agree": True, "version": agree["version"]}).status_code \
        == 200
    request_id: str = rp.act(state, "onboard", {}).get_json()["request_id"]
    return request_id


_CERTIFICATE = base64.b64encode(der(sign_cert())).decode()
card_answers = st.one_of(
    bodies({"certificate": _CERTIFICATE, "signature": base64.b64encode(bytes(256)).decode()}),
    st.fixed_dictionaries({"certificate": st.one_of(hostile.values, st.text()),
                           "signature": st.one_of(hostile.values, st.text())}).map(
        hostile.dumps),
    st.builds(lambda raw: hostile.dumps({"certificate": base64.b64encode(raw).decode(),
                                         "signature": "AAAA"}), st.binary(max_size=300)))


@PROPERTY
@given(answer=card_answers)
def test_any_card_answer_gets_a_4xx(rp: Rp, answer: str) -> None:
    request_id = _card_request(rp)
    response = rp.browser.post(f"/card-requests/{request_id}",
                               data=answer.encode("utf-8", "surrogatepass"),
                               content_type="application/json")
    _refused_clearly_or_done(response)
    assert response.status_code >= 400  # nothing here is a card's signature of the request


# -- WebAuthn answers (passkey sign-in and registration) ---------------------------------------
@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator()


@pytest.fixture
def with_passkey(rp: Rp, authenticator: SoftAuthenticator) -> str:
    """The private ID of a person with one passkey (``authenticator``'s); signed out again."""
    private_id, _ = register_passkey(rp, authenticator)
    rp.browser.delete_cookie(COOKIE_NAME, domain="localhost")
    return private_id


def _credentials(valid: dict[str, Any]) -> st.SearchStrategy[Any]:
    """The browser's PublicKeyCredential with one node hostile, or with a clientDataJSON whose
    decoded JSON is hostile, or any hostile value."""
    client_data = hostile.documents.map(
        lambda text: {**valid, "response": {**valid["response"], "clientDataJSON": b64url(
            text.encode("utf-8", "surrogatepass"))}})
    return st.one_of(hostile.mutated(valid), client_data, hostile.values)


@PROPERTY
@given(data=st.data(), as_text=st.booleans())
def test_any_passkey_sign_in_answer_gets_a_4xx_or_signs_in(
        rp: Rp, authenticator: SoftAuthenticator, with_passkey: str, data: st.DataObject,
        as_text: bool) -> None:
    rp.browser.delete_cookie(COOKIE_NAME, domain="localhost")
    state = rp.interaction(rp.authorize()[0])
    options = rp.act(state, "passkey_options", {}).get_json()["options"]
    valid = json.loads(authenticator.get(json.dumps(options), origin=ORIGIN))
    credential = data.draw(_credentials(valid), label="credential")
    body = {"credential": hostile.dumps(credential) if as_text else credential}
    _refused_clearly_or_done(_send(rp.browser, state["actions"]["passkey_verify"]["href"],
                                   hostile.dumps(body), state["csrf_token"]))


@PROPERTY
@given(data=st.data(), as_text=st.booleans())
def test_any_passkey_registration_answer_gets_a_4xx_or_registers(
        rp: Rp, data: st.DataObject, as_text: bool) -> None:
    rp.login()
    state = rp.interaction(rp.authorize()[0])
    base = f"/interaction/{state['uid']}/passkey/register"
    options = _send(rp.browser, f"{base}/options", "{}", state["csrf_token"]).get_json()[
        "options"]
    valid = json.loads(SoftAuthenticator().create(json.dumps(options), origin=ORIGIN))
    credential = data.draw(_credentials(valid), label="credential")
    body = data.draw(bodies({"credential": hostile.dumps(credential) if as_text else credential,
                             "name": "My phone"}), label="body")
    _refused_clearly_or_done(_send(rp.browser, base, body, state["csrf_token"]))


# -- the account page ---------------------------------------------------------------------------
@PROPERTY
@given(body=bodies({"name": "My phone"}))
def test_any_passkey_rename_gets_a_4xx_or_renames(rp: Rp, with_passkey: str,
                                                  body: str) -> None:
    rp.login(private_id=with_passkey)
    page = rp.browser.get("/account", headers={"Accept": "application/json"}).get_json()
    passkey_id = page["passkeys"][0]["id"]
    _refused_clearly_or_done(_send(rp.browser, f"/account/passkeys/{passkey_id}/rename", body,
                                   page["csrf_token"]))
