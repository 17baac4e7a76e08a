"""The fast path (``idp.web.fast``) and Flask's views answer the hot routes alike.

Every request below is sent twice, once to the app as served (the fast path in front of Flask)
and once to Flask alone, and the two answers are compared: status, every header, the body.
Refusals are deterministic and compared byte for byte; successes carry fresh random values (a
challenge, a code, a signed cookie's timestamp), which are compared by shape.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import delete

from idp.accounts.card_requests import BROWSER_COOKIE
from idp.accounts.sessions import COOKIE_NAME
from idp.app import services_of
from idp.passkeys import ceremonies, challenge_store
from idp.settings import Settings
from idp.web import fast, token
from idp.web.headers import SessionCookies
from tests.support.webauthn_authenticator import SoftAuthenticator
from tests.unit.oidc.conftest import ISSUER, Rp, idp_app, query
from tests.unit.web.test_passkey_flow import ORIGIN, FakeChecker, log_out, register_passkey

REQUEST_ID = "fast-path-test-1"


@pytest.fixture
def checker() -> FakeChecker:
    return FakeChecker()


@pytest.fixture
def app(sqlite_settings: Settings, checker: FakeChecker) -> Iterator[Flask]:
    """The IdP as test_passkey_flow.py builds it (a fake anchor checker)."""
    with idp_app(sqlite_settings, anchors=checker) as application:
        yield application


@contextmanager
def flask_only(app: Flask) -> Iterator[None]:
    """Requests in this block bypass the fast path: Flask's own views answer them."""
    front = app.wsgi_app
    assert isinstance(front, fast.FastPath)
    app.wsgi_app = front._app  # type: ignore[method-assign]
    try:
        yield
    finally:
        app.wsgi_app = front  # type: ignore[method-assign]


@pytest.fixture
def served(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The endpoints the fast path answered, in order."""
    seen: list[str] = []
    real = fast.FastPath._serve

    def spy(self: fast.FastPath, call: Any, route: fast.Route, values: Any) -> Any:
        seen.append(route.endpoint)
        return real(self, call, route, values)

    monkeypatch.setattr(fast.FastPath, "_serve", spy)
    return seen


def both(app: Flask, send: Callable[[], Any]) -> tuple[Any, Any]:
    """``send()`` answered by Flask alone, then by the app as served."""
    with flask_only(app):
        by_flask = send()
    return by_flask, send()


def signer(app: Flask) -> URLSafeTimedSerializer:
    interface = app.session_interface
    assert isinstance(interface, SessionCookies)
    found = interface.get_signing_serializer(app)
    assert found is not None
    return found


def headers_of(app: Flask, answer: Any) -> list[tuple[str, str]]:
    """The answer's headers; a Set-Cookie of Flask's session by its decoded content (its
    signature carries a timestamp)."""
    found = []
    for name, value in answer.headers.items():
        if name == "Set-Cookie" and value.startswith("session="):
            cookie, _, attributes = value.partition(";")
            content = signer(app).loads(cookie.removeprefix("session="))
            value = f"session={json.dumps(content, sort_keys=True)};{attributes}"
        found.append((name, value))
    return sorted(found)


def assert_same(app: Flask, by_flask: Any, by_fast: Any) -> None:
    assert by_fast.status_code == by_flask.status_code
    assert headers_of(app, by_fast) == headers_of(app, by_flask)
    assert by_fast.get_data() == by_flask.get_data()


def shape(value: Any) -> Any:
    """``value`` with its strings, numbers and lists of scalars replaced by their types."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def assert_same_shape(by_flask: Any, by_fast: Any) -> None:
    assert by_fast.status_code == by_flask.status_code
    names = sorted(name for name, _ in by_fast.headers.items())
    assert names == sorted(name for name, _ in by_flask.headers.items())
    for name in ("Content-Type", "Cache-Control", "Pragma", "Content-Security-Policy",
                 "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Vary"):
        assert by_fast.headers.get(name) == by_flask.headers.get(name), name
    cookies = [sorted(c.split(";", 1)[1].split(";")) for c in by_fast.headers.getlist("Set-Cookie")]
    assert cookies == [sorted(c.split(";", 1)[1].split(";"))
                       for c in by_flask.headers.getlist("Set-Cookie")]
    assert shape(by_fast.get_json()) == shape(by_flask.get_json())


def post(rp: Rp, state: dict[str, Any], action: str, body: Any, **headers: str) -> Any:
    href = state["actions"][action]["href"]
    sent = {"X-CSRF-Token": state["csrf_token"], "X-Request-Id": REQUEST_ID, **headers}
    if isinstance(body, str | bytes):
        return rp.browser.post(href, data=body, headers=sent, content_type="application/json")
    return rp.browser.post(href, json=body, headers=sent)


# -- successes --------------------------------------------------------------------------------
def test_a_passkey_login_is_answered_alike_by_both_paths(
        rp: Rp, app: Flask, checker: FakeChecker, served: list[str]) -> None:
    authenticator = SoftAuthenticator()
    register_passkey(rp, authenticator)
    state = rp.interaction(rp.authorize()[0])
    rp.act(state, "consent", {"approve": True, "claims": state["requested"]["claims"]})
    answers: dict[str, list[Any]] = {}
    for flask_alone in (True, False):
        log_out(rp)
        served.clear()
        context = flask_only(app) if flask_alone else contextmanager(lambda: iter([None]))()
        with context:
            location, verifier = rp.authorize()
            face = rp.browser.get(urlsplit(location).path, headers={
                "Accept": "application/json", "X-Request-Id": REQUEST_ID})
            state = face.get_json()
            options = post(rp, state, "passkey_options", {})
            assertion = authenticator.get(json.dumps(options.get_json()["options"]),
                                          origin=ORIGIN)
            verify = post(rp, state, "passkey_verify", {"credential": assertion})
            code = query(verify.get_json()["redirect_to"])["code"]
            tokens = rp.exchange(code, verifier)
            access = tokens.get_json()["access_token"]
            userinfo = rp.browser.get("/userinfo", headers={
                "Authorization": f"Bearer {access}", "X-Request-Id": REQUEST_ID})
        answers["flask" if flask_alone else "fast"] = [face, options, verify, tokens, userinfo]
        assert served == ([] if flask_alone else [
            "oidc.authorize", "login.show", "passkeys.sign_in_options",
            "passkeys.sign_in_verify", "oidc.token_route", "oidc.userinfo"])
    for by_flask, by_fast in zip(answers["flask"], answers["fast"], strict=True):
        assert by_fast.status_code == 200, by_fast.get_json()
        assert_same_shape(by_flask, by_fast)
    # the values that are not random are equal too
    assert answers["fast"][4].get_json() == answers["flask"][4].get_json()  # userinfo
    fast_verify, flask_verify = answers["fast"][2].get_json(), answers["flask"][2].get_json()
    for answer in (fast_verify, flask_verify):
        del answer["account"]["anchor"]["checked_at"]
        answer["redirect_to"] = urlsplit(answer["redirect_to"]).path
    assert fast_verify == flask_verify
    assert COOKIE_NAME in answers["fast"][2].headers["Set-Cookie"]
    assert answers["fast"][1].headers["Vary"] == "Cookie"  # the ceremony handle is in it


@pytest.mark.parametrize("step", ["login", "consent", "offer"])
def test_the_interaction_face_is_answered_alike(rp: Rp, app: Flask, served: list[str],
                                                monkeypatch: pytest.MonkeyPatch,
                                                step: str) -> None:
    """The JSON face at each step (its session cookie writes included), byte for byte. The
    login's face brings passkey options: their challenge and its handle are made the same for
    both answers here (each answer's challenge is saved anew, the other's removed)."""
    monkeypatch.setattr(ceremonies, "secrets", SimpleNamespace(token_bytes=bytes))
    monkeypatch.setattr(challenge_store, "new_handle", lambda: "the-handle")
    location, _ = rp.authorize()
    path = urlsplit(location).path
    if step != "login":
        rp.interaction(location)  # the passkey sign-in seen in this interaction: the offer
        rp.login()
    if step == "consent":
        state = rp.interaction(location)
        rp.act(state, "skip", {})  # the offer answered
    served.clear()
    headers = {"Accept": "application/json", "X-Request-Id": REQUEST_ID}

    def send() -> Any:
        with services_of(app).engine.begin() as connection:
            connection.execute(delete(challenge_store.CHALLENGES))
        return rp.browser.get(path, headers=headers)

    by_flask, by_fast = both(app, send)
    assert by_fast.status_code == 200, by_fast.get_json()
    assert_same(app, by_flask, by_fast)
    assert served == ["login.show"]
    assert ("passkey" in by_fast.get_json()) is (step == "login")


@pytest.mark.parametrize("case", ["unknown", "wrong_browser", "english"])
def test_interaction_face_refusals_are_answered_alike(rp: Rp, app: Flask, served: list[str],
                                                      case: str) -> None:
    path = urlsplit(rp.authorize()[0]).path
    headers = {"Accept": "application/json", "X-Request-Id": REQUEST_ID}
    if case == "unknown":
        path = "/interaction/nope"
    elif case == "wrong_browser":
        rp.browser.set_cookie(BROWSER_COOKIE, "someone-else", domain="localhost")
    else:
        path, headers["Accept-Language"] = "/interaction/nope?lang=en", "ja"
    served.clear()
    by_flask, by_fast = both(app, lambda: rp.browser.get(path, headers=headers))
    assert by_fast.status_code in (403, 404)
    assert_same(app, by_flask, by_fast)
    assert served == ["login.show"]
    if case == "english":
        assert by_fast.get_json()["error_description"].isascii()


def test_the_fast_path_keeps_the_ceremony_handle_where_flask_reads_it(
        rp: Rp, app: Flask, checker: FakeChecker, served: list[str]) -> None:
    """Options on one path, verify on the other: the session cookie is one and the same."""
    authenticator = SoftAuthenticator()
    register_passkey(rp, authenticator)
    log_out(rp)
    state = rp.interaction(rp.authorize()[0])
    served.clear()
    options = post(rp, state, "passkey_options", {})  # the fast path writes the handle
    assertion = authenticator.get(json.dumps(options.get_json()["options"]), origin=ORIGIN)
    with flask_only(app):  # Flask reads it
        verify = post(rp, state, "passkey_verify", {"credential": assertion})
    assert verify.status_code == 200, verify.get_json()
    assert served == ["passkeys.sign_in_options"]


def authorize_query(rp: Rp, **overrides: str) -> dict[str, str]:
    return {"client_id": rp.client_id, "redirect_uri": "https://rp.example/cb",
            "response_type": "code", "scope": "openid profile", "state": "st-1", "nonce": "n-1",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256", **overrides}


@pytest.mark.parametrize("cookie", ["none", "ours", "planted"])
def test_authorize_is_answered_alike(rp: Rp, app: Flask, served: list[str],
                                     cookie: str) -> None:
    """A new interaction, bound to this browser: the binding cookie kept when the IdP minted
    it, a new one otherwise (the interaction's uid and a new cookie are random)."""
    if cookie == "ours":
        rp.authorize()  # the browser has the IdP's binding cookie now
    elif cookie == "planted":
        rp.browser.set_cookie(BROWSER_COOKIE, "planted.value", domain="localhost")
    kept = rp.browser.get_cookie(BROWSER_COOKIE)
    served.clear()

    def send() -> Any:
        return rp.browser.get("/authorize", query_string=authorize_query(rp),
                              headers={"X-Request-Id": REQUEST_ID})

    by_flask, by_fast = both(app, send)
    assert by_fast.status_code == 303
    assert served == ["oidc.authorize"]
    names = sorted(name for name, _ in by_fast.headers.items())
    assert names == sorted(name for name, _ in by_flask.headers.items())
    for answer in (by_flask, by_fast):
        assert answer.headers["Location"].startswith(ISSUER + "/interaction/")
        sent = [c for c in answer.headers.getlist("Set-Cookie")
                if c.startswith(BROWSER_COOKIE + "=")]
        if cookie == "ours":
            assert sent == [f"{BROWSER_COOKIE}={kept.value}; HttpOnly; Path=/; SameSite=Lax"]
        else:
            assert len(sent) == 1
            assert "planted" not in sent[0]
    for name in ("Content-Type", "Cache-Control", "Content-Security-Policy", "X-Request-Id"):
        assert by_fast.headers[name] == by_flask.headers[name]
    uid = urlsplit(by_fast.headers["Location"]).path.rsplit("/", 1)[1]
    flask_uid = urlsplit(by_flask.headers["Location"]).path.rsplit("/", 1)[1]
    assert by_fast.get_data().replace(uid.encode(), b"U") == \
        by_flask.get_data().replace(flask_uid.encode(), b"U")
    rp.interaction(by_fast.headers["Location"])  # the new interaction is this browser's


@pytest.mark.parametrize("case", ["unknown_client", "json", "english_page", "no_redirect",
                                  "repeated"])
def test_authorize_refusals_are_answered_alike(rp: Rp, app: Flask, served: list[str],
                                               case: str) -> None:
    query = authorize_query(rp)
    headers = {"X-Request-Id": REQUEST_ID, "Accept": "text/html"}
    if case == "unknown_client":
        query["client_id"] = "nobody"
    elif case == "json":
        query["client_id"] = "nobody"
        headers["Accept"] = "application/json"
    elif case == "english_page":
        query["client_id"], query["lang"] = "nobody", "en"  # the page's language remembered
    elif case == "no_redirect":
        query["redirect_uri"] = "https://elsewhere.example/cb"
    url = "/authorize?" + "&".join(f"{k}={v}" for k, v in query.items())
    if case == "repeated":
        url += "&state=again"

    def send() -> Any:
        rp.browser.delete_cookie("lang", domain="localhost")  # the page's choice, remembered
        return rp.browser.get(url, headers=headers)

    by_flask, by_fast = both(app, send)
    assert by_fast.status_code >= 400
    assert_same(app, by_flask, by_fast)
    assert served == ["oidc.authorize"]
    if case == "english_page":
        assert "lang=en" in by_fast.headers["Set-Cookie"]


# -- refusals, byte for byte ----------------------------------------------------------------
@pytest.mark.parametrize("case", ["bad_csrf", "no_json", "not_an_object", "no_credential",
                                  "no_challenge", "deep_json", "english", "wrong_browser"])
def test_passkey_refusals_are_answered_alike(
        rp: Rp, app: Flask, checker: FakeChecker, served: list[str], case: str) -> None:
    state = rp.interaction(rp.authorize()[0])
    headers: dict[str, str] = {}
    body: Any = {}
    action = "passkey_verify"
    if case == "bad_csrf":
        headers["X-CSRF-Token"] = "not-the-token"
    elif case == "no_json":
        body = "{not json"
    elif case == "not_an_object":
        body = "[1, 2]"
    elif case == "no_credential":
        body = {"credential": 12}
    elif case == "no_challenge":
        body = {"credential": "{}"}  # no handle in the session: the face's is gone
        with rp.browser.session_transaction() as kept:
            del kept["passkey_handles"]
    elif case == "deep_json":
        body = "[" * 20_000 + "]" * 20_000  # deeper than the parser's recursion limit
    elif case == "english":
        headers["Accept-Language"] = "en"
        action = "passkey_options"
        headers["X-CSRF-Token"] = "wrong"
    elif case == "wrong_browser":
        rp.browser.set_cookie(BROWSER_COOKIE, "someone-else", domain="localhost")
    served.clear()
    by_flask, by_fast = both(app, lambda: post(rp, state, action, body, **headers))
    assert by_fast.status_code >= 400
    assert_same(app, by_flask, by_fast)
    assert served == [f"passkeys.sign_in_{'options' if action == 'passkey_options' else 'verify'}"]


def test_an_unknown_interaction_is_answered_alike(rp: Rp, app: Flask, served: list[str]) -> None:
    def send() -> Any:
        return rp.browser.post("/interaction/nope/passkey/options", json={},
                               headers={"X-CSRF-Token": "x", "X-Request-Id": REQUEST_ID})

    by_flask, by_fast = both(app, send)
    assert by_fast.status_code == 404
    assert_same(app, by_flask, by_fast)
    assert served == ["passkeys.sign_in_options"]


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic abc"])
def test_userinfo_refusals_are_answered_alike(rp: Rp, app: Flask, served: list[str],
                                              authorization: str | None) -> None:
    headers = {"X-Request-Id": REQUEST_ID, "Accept-Language": "en"}
    if authorization:
        headers["Authorization"] = authorization
    by_flask, by_fast = both(app, lambda: rp.browser.get("/userinfo", headers=headers))
    assert by_fast.status_code == 401
    assert "WWW-Authenticate" in by_fast.headers
    assert_same(app, by_flask, by_fast)
    assert served == ["oidc.userinfo"]


def test_a_token_refusal_is_answered_alike(rp: Rp, app: Flask, served: list[str]) -> None:
    def send() -> Any:
        return rp.browser.post("/token", data={"grant_type": "authorization_code",
                                               "code": "nope"},
                               auth=(rp.client_id, "wrong"), headers={"X-Request-Id": REQUEST_ID})

    by_flask, by_fast = both(app, send)
    assert by_fast.status_code == 401
    assert_same(app, by_flask, by_fast)
    assert served == ["oidc.token_route"]


def test_an_unexpected_failure_is_answered_as_flask_answers_it(
        rp: Rp, app: Flask, served: list[str], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    def broken(*_: Any) -> Any:
        raise RuntimeError("userinfo on fire")

    monkeypatch.setattr("idp.oidc.resources.userinfo", broken)
    caplog.set_level(logging.ERROR)
    by_flask, by_fast = both(app, lambda: rp.browser.get(
        "/userinfo", headers={"Authorization": "Bearer x", "X-Request-Id": REQUEST_ID}))
    assert by_fast.status_code == 500
    assert_same(app, by_flask, by_fast)
    assert "userinfo on fire" not in by_fast.get_data(as_text=True)
    assert caplog.text.count("userinfo on fire") >= 2  # logged on both paths


# -- what the fast path leaves to Flask ------------------------------------------------------
@pytest.mark.parametrize(("method", "path", "kwargs"), [
    ("GET", "/userinfo", {"headers": {"Accept": "text/html"}}),  # a refusal would be a page
    ("POST", "/authorize", {"data": {"client_id": "x"}}),
    ("GET", "/interaction/x", {"headers": {"Accept": "text/html"}}),  # the page is Flask's
    ("GET", "/interaction/x", {"headers": {"Accept": "*/*"}}),
    ("HEAD", "/userinfo", {}),
    ("GET", "/userinfo/", {}),
    ("POST", "/userinfo", {"data": {"access_token": "x"}}),
    ("POST", "/token", {"data": "grant_type=x", "content_type": "text/plain"}),
    ("POST", "/interaction/x/passkey/options", {"data": "{}", "content_type": "text/plain"}),
    ("POST", "/interaction//passkey/options", {"json": {}}),
    ("POST", "/interaction/x/passkey/options/", {"json": {}}),
])
def test_other_requests_go_to_flask(rp: Rp, served: list[str], method: str, path: str,
                                    kwargs: dict[str, Any]) -> None:
    client: FlaskClient = rp.browser
    answer = client.open(path, method=method, **kwargs)
    assert served == []
    assert answer.status_code >= 300


def test_the_fast_path_routes_as_flask_does(app: Flask) -> None:
    front = app.wsgi_app
    assert isinstance(front, fast.FastPath)
    adapter = app.url_map.bind("localhost")
    for method, path in [("POST", "/token"), ("GET", "/userinfo"), ("GET", "/interaction/u"),
                         ("GET", "/authorize"),
                         ("POST", "/interaction/abc/passkey/options"),
                         ("POST", "/interaction/a%20b/passkey/verify")]:
        found = front.match({"REQUEST_METHOD": method, "PATH_INFO": path})
        assert found is not None, path
        route, values = found
        assert adapter.match(path, method=method) == (route.endpoint, values)


def test_a_route_flask_does_not_serve_is_refused_at_start(app: Flask) -> None:
    with pytest.raises(ValueError, match="does not serve"):
        fast.FastPath(app, app.extensions["idp.web"], [fast.Route(
            "POST", "/userinfo/other", "oidc.userinfo", token.TokenRoute.__call__)])
