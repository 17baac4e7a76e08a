"""Property tests: hostile JSON in the OpenID Connect requests gets a 4xx with ``error``, never a
5xx, and what the provider accepts it can use later.

The JSON a relying party (or anyone) sends: the ``claims`` parameter (/authorize, /par), the
members of a signed request object (JAR, RFC 9101), and the payload of a client assertion
(RFC 7523: /token, /par, /introspect, /revoke). Generated values: every JSON type where another is
expected, nesting past any parser's recursion, huge numbers and strings, NaN, lone surrogates and
NUL (tests/support/hostile_json.py). SQLite only: these are about parsing, not storage.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from hypothesis import event, example, given
from hypothesis import strategies as st
from joserfc import jws
from joserfc.jwk import ECKey
from werkzeug.test import TestResponse

from idp.app import create_app, services_of
from idp.oidc.clients import ASSERTION_TYPE
from idp.settings import Settings
from tests.support import hostile_json as hostile
from tests.unit.oidc.conftest import ISSUER, REDIRECT, Rp, pkce, query, register

PROPERTY = hostile.PROPERTY
# A failing example may hold a 100 kB string: Hypothesis warns that it is long to print.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")
CLAIM_NAMES = ("acr", "name", "birthdate", "address", "gender", "sub", "auth_time", "x")


@pytest.fixture
def app(sqlite_settings: Settings) -> Iterator[Flask]:
    """The IdP without failure throttling (on SQLite)."""
    application = create_app(hostile.unthrottled(sqlite_settings.model_copy(update={
        "oidc": sqlite_settings.oidc.model_copy(update={"issuer": ISSUER})})))
    yield application
    services_of(application).engine.dispose()


@pytest.fixture
def key() -> ECKey:
    return ECKey.generate_key("P-256")


@pytest.fixture
def rp(app: Flask) -> Rp:
    client_id, secret = register(app)
    rp = Rp(app, app.test_client(), client_id, secret)
    rp.login()
    return rp


@pytest.fixture
def jwt_rp(app: Flask, key: ECKey) -> Rp:
    jwks = {"keys": [{**key.as_dict(private=False), "kid": "rp-1"}]}
    client_id, _ = register(app, auth_method="private_key_jwt", jwks=jwks)
    rp = Rp(app, app.test_client(), client_id, None)
    rp.login()
    return rp


def _refused_clearly(response: TestResponse) -> bool:
    """A 4xx whose JSON names the error (or the HTML error page of /authorize)."""
    if not 400 <= response.status_code < 500:
        return False
    if response.mimetype == "text/html":
        return "The request cannot be processed" in response.get_data(as_text=True)
    body = response.get_json(silent=True)
    return isinstance(body, dict) and bool(body.get("error"))


def _check(response: TestResponse) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        assert _refused_clearly(response), response.get_data(as_text=True)[:500]


def _authorization(rp: Rp, challenge: str, **extra: Any) -> dict[str, Any]:
    return {"client_id": rp.client_id, "redirect_uri": REDIRECT, "response_type": "code",
            "scope": "openid profile", "state": "st", "nonce": "n", "code_challenge": challenge,
            "code_challenge_method": "S256", **extra}


def _finish(rp: Rp, response: TestResponse, verifier: str,
            credentials: dict[str, str] | None = None) -> None:
    """Follow an accepted authorization to the end: consent, code, tokens, userinfo. Whatever
    the request asked for, once accepted every later step works (its shape was checked once)."""
    _check(response)
    if response.status_code >= 400:
        event("refused with a 4xx")
        return
    location = response.headers["Location"]
    if "/interaction/" in location:
        state = rp.interaction(location)
        consented = rp.act(state, "consent",
                           {"approve": True, "claims": state["requested"]["claims"]})
        assert consented.status_code == 200, consented.get_data(as_text=True)[:500]
        location = consented.get_json()["redirect_to"]
    params = query(location)
    if "error" in params:
        event(f"refused to the relying party: {params['error']}")
        return
    event("accepted: code, tokens and userinfo")
    tokens = rp.exchange(params["code"], verifier) if credentials is None else \
        rp.browser.post("/token", data={"grant_type": "authorization_code", "code": params["code"],
                                        "code_verifier": verifier, "redirect_uri": REDIRECT,
                                        **credentials})
    assert tokens.status_code == 200, tokens.get_data(as_text=True)[:500]
    userinfo = rp.browser.get("/userinfo", headers={
        "Authorization": "Bearer " + tokens.get_json()["access_token"]})
    assert userinfo.status_code == 200, userinfo.get_data(as_text=True)[:500]


# -- the claims parameter (OIDC Core §5.5) -----------------------------------------------------
_claim_spec = st.one_of(
    hostile.values,
    st.fixed_dictionaries({}, optional={"essential": hostile.values, "value": hostile.values,
                                        "values": hostile.values}))
_members = st.one_of(
    hostile.values,
    st.dictionaries(st.sampled_from(CLAIM_NAMES), _claim_spec, max_size=3))
claims_documents = st.one_of(
    hostile.documents,
    st.fixed_dictionaries({}, optional={"id_token": _members, "userinfo": _members,
                                        "other": hostile.values}).map(hostile.dumps),
    st.builds(lambda deep, where: hostile.nested_in(deep, *where), hostile.deep_documents,
              st.sampled_from([("id_token",), ("id_token", "acr"), ("userinfo", "name", "value"),
                               ("id_token", "acr", "values")])),
)


# A claim name that is a lone surrogate (found by this property): it reaches the consent's audit
# entry, which must record it as text, not fail.
_LONE_SURROGATE = '{"userinfo": {"\\ud800": null}, "id_token": {"\\udfff": {"essential": true}}}'


@PROPERTY
@given(claims=claims_documents, method=st.sampled_from(["GET", "POST"]))
@example(claims=_LONE_SURROGATE, method="POST")
def test_any_claims_parameter_at_authorize_is_refused_or_works_to_the_end(
        rp: Rp, claims: str, method: str) -> None:
    verifier, challenge = pkce()
    params = _authorization(rp, challenge, claims=claims)
    response = rp.browser.open("/authorize", method=method, **(
        {"query_string": params} if method == "GET" else {"data": params}))
    _finish(rp, response, verifier)


@PROPERTY
@given(claims=claims_documents)
@example(claims=_LONE_SURROGATE)
def test_any_claims_parameter_at_par_is_refused_or_works_to_the_end(rp: Rp, claims: str) -> None:
    verifier, challenge = pkce()
    pushed = rp.browser.post("/par", auth=(rp.client_id, rp.secret),
                             data=_authorization(rp, challenge, claims=claims))
    _check(pushed)
    if pushed.status_code == 201:
        _finish(rp, rp.browser.get("/authorize", query_string={
            "client_id": rp.client_id, "request_uri": pushed.get_json()["request_uri"]}),
            verifier)


# -- request objects (RFC 9101) ----------------------------------------------------------------
_PARAMETERS = ("redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge",
               "code_challenge_method", "prompt", "max_age", "acr_values", "claims",
               "response_mode", "request_uri", "request", "client_id", "aud", "iss", "exp")


def _signed(key: ECKey, payload: str) -> str:
    return jws.serialize_compact({"alg": "ES256", "kid": "rp-1"}, payload.encode(
        "utf-8", "surrogatepass"), key)


def _request_object(rp: Rp, key: ECKey, challenge: str, replaced: dict[str, Any]) -> str:
    claims = {**_authorization(rp, challenge), "iss": rp.client_id, "aud": ISSUER,
              "exp": int(time.time()) + 60, **replaced}
    return _signed(key, hostile.dumps(claims))


request_objects = st.one_of(
    st.dictionaries(st.sampled_from(_PARAMETERS), hostile.values, min_size=1, max_size=3)
    .map(lambda replaced: ("members", replaced)),
    hostile.documents.map(lambda document: ("payload", document)))


@PROPERTY
@given(request_object=request_objects, endpoint=st.sampled_from(["/authorize", "/par"]))
def test_any_request_object_is_refused_or_works_to_the_end(
        jwt_rp: Rp, key: ECKey, request_object: tuple[str, Any], endpoint: str) -> None:
    verifier, challenge = pkce()
    kind, content = request_object
    request = _request_object(jwt_rp, key, challenge, content) if kind == "members" else \
        _signed(key, content)
    params = {"client_id": jwt_rp.client_id, "request": request}
    credentials = _assertion(jwt_rp, key, "/token")
    if endpoint == "/authorize":
        _finish(jwt_rp, jwt_rp.browser.get("/authorize", query_string=params), verifier,
                credentials)
        return
    pushed = jwt_rp.browser.post("/par", data={**params, **_assertion(jwt_rp, key, "/par")})
    _check(pushed)
    if pushed.status_code == 201:
        _finish(jwt_rp, jwt_rp.browser.get("/authorize", query_string={
            "client_id": jwt_rp.client_id, "request_uri": pushed.get_json()["request_uri"]}),
            verifier, credentials)


# -- client assertions (RFC 7523) --------------------------------------------------------------
def _assertion(rp: Rp, key: ECKey, endpoint: str, **replaced: Any) -> dict[str, str]:
    claims = {"iss": rp.client_id, "sub": rp.client_id, "aud": ISSUER + endpoint,
              "jti": secrets.token_urlsafe(8), "exp": int(time.time()) + 60, **replaced}
    return {"client_assertion_type": ASSERTION_TYPE,
            "client_assertion": _signed(key, hostile.dumps(claims))}


_ASSERTION_CLAIMS = ("iss", "sub", "aud", "exp", "jti", "iat", "nbf")
assertions = st.one_of(
    st.dictionaries(st.sampled_from(_ASSERTION_CLAIMS), hostile.values, min_size=1, max_size=3)
    .map(lambda replaced: ("members", replaced)),
    hostile.documents.map(lambda document: ("payload", document)),
    hostile.documents.map(lambda document: ("unsigned", document)))
_ENDPOINT_FORMS = {"/token": {"grant_type": "refresh_token", "refresh_token": "unknown"},
                   "/par": {"response_type": "code"}, "/introspect": {"token": "unknown"},
                   "/revoke": {"token": "unknown"}}


@PROPERTY
@given(assertion=assertions, endpoint=st.sampled_from(sorted(_ENDPOINT_FORMS)),
       with_client_id=st.booleans())
def test_any_client_assertion_is_refused_as_invalid_client_or_authenticates(
        jwt_rp: Rp, key: ECKey, assertion: tuple[str, Any], endpoint: str,
        with_client_id: bool) -> None:
    kind, content = assertion
    if kind == "members":
        form = _assertion(jwt_rp, key, endpoint, **content)
    else:
        signed = _signed(key, content) if kind == "payload" else \
            ".".join((_signed(key, "{}").split(".")[0], _b64(content), "c2ln"))
        form = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": signed}
    if with_client_id:
        form["client_id"] = jwt_rp.client_id
    response = jwt_rp.browser.post(endpoint, data={**_ENDPOINT_FORMS[endpoint], **form})
    _check(response)
    if kind != "members":
        assert response.status_code == 401, response.get_data(as_text=True)[:300]
    if response.status_code == 401:
        assert response.get_json()["error"] == "invalid_client"


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).rstrip(b"=").decode()
