"""A sweep of hostile and malformed requests over every HTTP route of the IdP.

Product rule: bad input gets a clear error a person can act on, an HTTP 4xx (never a 500),
and loses nothing. Each route in ``app.url_map`` is either swept here (every hostile request
below, against a live interaction, card request and login session, and against unknown ones)
or excluded with a reason; a route added later without either makes
``test_every_route_is_swept_or_excluded_with_a_reason`` fail.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from idp.accounts.sessions import COOKIE_NAME
from tests.support.admin import add_admin, admin_browser
from tests.support.login import login_session
from tests.unit.oidc.conftest import Rp, app, db_app, register, rp

__all__ = ["app", "db_app", "rp"]  # the fixtures, for pytest

# Routes whose URL needs a live object: the placeholder is filled with the live one and with
# an unknown one in turn (each hostile request is sent to both).
SWEPT = frozenset({
    "/.well-known/openid-configuration", "/account", "/account/consents",
    "/account/consents/<client_id>/revoke", "/account/passkeys/<passkey_id>/remove",
    "/account/passkeys/<passkey_id>/rename", "/authorize", "/card-requests/<request_id>",
    "/card-requests/<request_id>/qr.svg", "/healthz", "/interaction/<uid>",
    "/interaction/<uid>/abort", "/interaction/<uid>/card", "/interaction/<uid>/card/continue",
    "/interaction/<uid>/consent", "/interaction/<uid>/onboard",
    "/interaction/<uid>/passkey/options", "/interaction/<uid>/passkey/register",
    "/interaction/<uid>/passkey/register/options", "/interaction/<uid>/passkey/skip",
    "/interaction/<uid>/passkey/verify", "/interaction/<uid>/refresh_4info",
    "/interaction/<uid>/reissue", "/interaction/<uid>/skip", "/interaction/<uid>/status",
    "/interaction/<uid>/terms", "/introspect", "/jwks", "/logout", "/logout/confirm", "/par",
    "/revoke", "/token", "/userinfo",
    # Signing with the card (issue 12) and the Shared Signals endpoints (issue 13)
    "/interaction/<uid>/sign", "/interaction/<uid>/sign/continue",
    "/.well-known/ssf-configuration", "/ssf/poll/<stream_id>", "/ssf/status", "/ssf/stream",
    "/ssf/subjects:add", "/ssf/subjects:remove", "/ssf/verify",
    # The front page (issue 14)
    "/",
    # The device authorization grant (issue 15)
    "/device_authorization", "/device", "/device/done", "/interaction/<uid>/approve",
    "/interaction/<uid>/deny",
    # Operations (issue 17)
    "/metrics",
    # The administration (issue 16), swept with a signed-in administrator's session
    "/admin/", "/admin/login", "/admin/enrol/<token>", "/admin/clients", "/admin/clients/new",
    "/admin/clients/<client_id>", "/admin/accounts", "/admin/accounts/<private_id>",
    "/admin/admins", "/admin/api/openapi.json", "/admin/api/session",
    "/admin/api/session/options", "/admin/api/session/logout",
    "/admin/api/session/confirm/options", "/admin/api/session/confirm",
    "/admin/api/enrol/<token>", "/admin/api/enrol/<token>/options", "/admin/api/admins",
    "/admin/api/health", "/admin/api/clients", "/admin/api/clients/<client_id>",
    "/admin/api/clients/<client_id>/rotate-secret", "/admin/api/clients/<client_id>/disable",
    "/admin/api/clients/<client_id>/enable", "/admin/api/accounts",
    "/admin/api/accounts/<private_id>", "/admin/api/accounts/<private_id>/reveal",
    "/admin/api/accounts/<private_id>/lock", "/admin/api/accounts/<private_id>/unlock",
    "/admin/trust", "/admin/api/trust/policy", "/admin/api/trust/policy/set",
    "/admin/api/trust/policy/versions", "/admin/api/trust/policy/versions/<version>",
    "/admin/api/trust/policy/rollback", "/admin/api/trust/anchors/retire",
    "/admin/api/trust/anchors/enable", "/admin/api/trust/anchors",
    "/admin/audit", "/admin/metering", "/admin/api/audit", "/admin/api/metering",
})
EXCLUDED = {
    "/static/<path:filename>": "Flask's own file server (send_from_directory): no IdP code "
                               "reads its input; only its 404 and 405 are checked here",
}
HTML_ERROR_PAGE = "The request cannot be processed"
ADMIN_ERROR_PAGE = '<p class="error" id="refusal"'  # the console's (idp.web.admin_errors)
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _jwt_alg_none() -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part({'sub': 'x', 'scope': 'openid'})}."


# Every field name a route of the IdP reads from a JSON body, each given a value of a wrong type.
FIELDS = ("approve", "claims", "agree", "version", "name", "credential", "certificate",
          "signature", "request_id", "private_id", "id", "response", "purpose", "user_code",
          "handle",
          "reason", "role", "redirect_uris", "auth_method", "jwks", "jwks_uri", "policy", "key",
          "value", "pem", "fingerprint", "generation", "expected_version")
WRONG_TYPES: tuple[Any, ...] = (123, [1, 2], {"a": {"b": ["c"]}}, None, "", "x" * 100_000)
DEEP = "[" * 50_000 + "]" * 50_000


@dataclass(frozen=True)
class Hostile:
    """One malformed request, as arguments of Flask's test client (``csrf``: send the right
    CSRF token of the live interaction or account page, so the body itself is what is judged).
    """

    name: str
    kwargs: dict[str, Any]
    csrf: bool = True


HOSTILE: tuple[Hostile, ...] = (
    Hostile("no body, no CSRF header", {}, csrf=False),
    Hostile("wrong CSRF header", {"json": {}, "headers": {"X-CSRF-Token": "forged"}},
            csrf=False),
    Hostile("empty body", {}),
    Hostile("text/plain body", {"data": "hello", "content_type": "text/plain"}),
    Hostile("truncated JSON", {"data": '{"approve": tr', "content_type": "application/json"}),
    Hostile("JSON list", {"json": [1, "a", None]}),
    Hostile("JSON number", {"json": 42}),
    Hostile("JSON string", {"json": "approve"}),
    Hostile("JSON null", {"data": "null", "content_type": "application/json"}),
    *(Hostile(f"fields of type {type(v).__name__}", {"json": dict.fromkeys(FIELDS, v)})
      for v in WRONG_TYPES),
    Hostile("deeply nested JSON", {"data": DEEP, "content_type": "application/json"}),
    Hostile("deeply nested JSON inside strings", {"json": dict.fromkeys(FIELDS, DEEP)}),
    Hostile("deeply nested JSON in the query and form", {
        "query_string": {"claims": DEEP, "authorization_details": DEEP},
        "data": {"claims": DEEP, "authorization_details": DEEP, "client_assertion": DEEP}}),
    Hostile("invalid UTF-8 in JSON", {"data": b'{"name": "\xff\xfe"}',
                                       "content_type": "application/json"}),
    Hostile("JSON with a charset it is not in", {
        "data": '{"name": "名前"}'.encode("shift_jis"),
        "content_type": "application/json; charset=shift_jis"}),
    Hostile("form body where JSON is expected", {"data": {"approve": "true"}}),
    Hostile("JSON where a form is expected", {"json": {"grant_type": "authorization_code"}}),
    Hostile("bad percent-encoding in the form", {
        "data": "grant_type=%zz&token=%ff%fe&client_id=%",
        "content_type": "application/x-www-form-urlencoded"}),
    Hostile("invalid UTF-8 in the form", {
        "data": b"grant_type=\xff\xfe&token=\xc3\x28",
        "content_type": "application/x-www-form-urlencoded"}),
    Hostile("multipart garbage", {"data": b"--x\r\nnot a part",
                                  "content_type": "multipart/form-data; boundary=x"}),
    Hostile("garbage query", {"query_string": {
        "client_id": ["a", "b"], "scope": "\x00", "redirect_uri": "javascript:alert(1)",
        "response_type": "code id_token token", "lang": "zz-🙂", "max_age": "-1e309",
        "id_token_hint": "a.b.c", "request": "not-a-jwt", "post_logout_redirect_uri": "x"}}),
    Hostile("bad percent-encoding in the query", {
        "query_string": "client_id=%zz&lang=%ff%fe&scope=%c3%28&state=%"}),
    Hostile("overlong query values", {"query_string": {
        "client_id": "c" * 20_000, "lang": "l" * 20_000, "state": "s" * 20_000}}),
    Hostile("Basic with bad base64", {"headers": {"Authorization": "Basic !!!not-base64"}}),
    Hostile("Basic without a colon", {"headers": {"Authorization": "Basic " + _b64(b"nocolon")}}),
    Hostile("Basic with invalid UTF-8", {
        "headers": {"Authorization": "Basic " + _b64(b"\xff\xfe:\xc3\x28")}}),
    Hostile("Basic of an unknown client", {
        "headers": {"Authorization": "Basic " + _b64(b"nobody:secret")},
        "data": {"grant_type": "authorization_code", "code": "x", "token": "x"}}),
    Hostile("Bearer with garbage", {"headers": {"Authorization": "Bearer \x7f garbage ;;"}}),
    Hostile("Bearer with nothing", {"headers": {"Authorization": "Bearer"}}),
    Hostile("Bearer JWT with alg none", {
        "headers": {"Authorization": "Bearer " + _jwt_alg_none()}}),
    Hostile("unknown auth scheme", {"headers": {"Authorization": "Digest username=x"}}),
    Hostile("body on GET-style JSON with a lie about its length", {
        "data": '{"a": 1}', "content_type": "application/json",
        "headers": {"Content-Length": "3"}}),
    Hostile("Accept: text/html", {"headers": {"Accept": "text/html"}}),
    Hostile("Accept: garbage", {"headers": {"Accept": ";;;q=x, */*;q=nope"}}),
)


@dataclass
class World:
    """A live interaction (terms agreed, a card request open) in an anonymous browser, and a
    logged-in browser for the account pages."""

    app: Flask
    anonymous: FlaskClient
    account: FlaskClient
    interaction_csrf: str
    account_csrf: str
    values: dict[str, tuple[str, ...]]
    admin: FlaskClient  # an administrator's browser session, for /admin
    admin_csrf: str


@pytest.fixture
def world(app: Flask, rp: Rp) -> World:
    return _world(app, rp)


def _world(app: Flask, rp: Rp) -> World:
    location, _ = rp.authorize()
    state = rp.interaction(location)
    agree = state["actions"]["agree"]
    assert rp.act(state, "agree", {"agree": True, "version": agree["version"]}).status_code == 200
    request_id = rp.act(state, "onboard", {}).get_json()["request_id"]
    account = app.test_client()
    _, cookie = login_session(app)
    account.set_cookie(COOKIE_NAME, cookie, domain="localhost")
    account_csrf = account.get("/account", headers={"Accept": "application/json"}) \
        .get_json()["csrf_token"]
    other, _ = register(app, name="Other RP")
    admin, admin_csrf = admin_browser(app)
    _, enrolment = add_admin(app, "newcomer", "support")
    person, _ = login_session(app)
    return World(app, rp.browser, account, state["csrf_token"], account_csrf, {
        "uid": (state["uid"], "no-such-interaction"),
        "request_id": (request_id, "no-such-request"),
        "client_id": (other, "no-such-client"),
        "passkey_id": ("no-such-passkey", "%ff%fe"),
        "stream_id": ("no-such-stream", "%ff%fe"),
        "token": (enrolment, "no-such-enrolment"),
        "private_id": (person, "no-such-account"),
        "version": ("1", "no-such-version"),
    }, admin, admin_csrf)


def _paths(rule: str, world: World) -> list[str]:
    """The rule's URL with each placeholder filled by a live value and by an unknown one."""
    names = [name for name in world.values if f"<{name}>" in rule]
    if not names:
        return [rule]
    (name,) = names
    return [rule.replace(f"<{name}>", value) for value in world.values[name]]


def _problems(response: TestResponse) -> list[str]:
    """What is wrong with the answer to a malformed request (nothing when it is a clear 4xx,
    or a success for a request that turned out harmless)."""
    text = response.get_data(as_text=True)
    found = []
    if response.status_code >= 500:
        found.append(f"status {response.status_code}")
    if "Traceback" in text or 'File "' in text:
        found.append("traceback in the body")
    if response.status_code >= 400:
        if response.mimetype == "application/json":
            body = response.get_json(silent=True)
            if not (isinstance(body, dict) and body.get("error")
                    and body.get("error_description")):
                found.append(f"JSON error without error/error_description: {text[:200]}")
        elif response.mimetype == "text/html":
            if HTML_ERROR_PAGE not in text and ADMIN_ERROR_PAGE not in text:
                found.append(f"HTML error that is not the error page: {text[:200]}")
        else:
            found.append(f"error as {response.mimetype}")
    return found


def _browser(world: World, rule: str) -> tuple[FlaskClient, str]:
    """The browser a rule is swept with, and its CSRF token."""
    if rule.startswith("/account"):
        return world.account, world.account_csrf
    if rule.startswith("/admin"):
        return world.admin, world.admin_csrf
    return world.anonymous, world.interaction_csrf


def _send(world: World, rule: str, method: str, path: str, hostile: Hostile) -> TestResponse:
    browser, token = _browser(world, rule)
    kwargs: dict[str, Any] = {**hostile.kwargs, "headers": dict(hostile.kwargs.get(
        "headers", {}))}
    if hostile.csrf:
        kwargs["headers"].setdefault("X-CSRF-Token", token)
    return browser.open(path, method=method, **kwargs)


def _methods(app: Flask, rule: str) -> list[str]:
    """The methods served at a rule's URL, by every route sharing it (e.g. GET and POST of
    /card-requests/<request_id>)."""
    return sorted({method for route in app.url_map.iter_rules() if route.rule == rule
                   for method in route.methods or () if method not in ("HEAD", "OPTIONS")})


def test_every_route_is_swept_or_excluded_with_a_reason(app: Flask) -> None:
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert rules - SWEPT - EXCLUDED.keys() == set(), "add the new route to SWEPT or EXCLUDED"
    assert (SWEPT | EXCLUDED.keys()) - rules == set(), "a swept or excluded route is gone"
    assert SWEPT.isdisjoint(EXCLUDED)


@pytest.mark.parametrize("rule", sorted(SWEPT | EXCLUDED.keys()))
def test_a_wrong_method_is_refused_with_405_and_a_json_error(world: World, rule: str) -> None:
    adapter = world.app.url_map.bind("localhost")
    for path in _paths(rule.replace("<path:filename>", "css/app.css"), world):
        allowed = adapter.allowed_methods(path)
        for method in (m for m in METHODS if m not in allowed):
            response = world.anonymous.open(path, method=method)
            assert response.status_code == 405, (method, path)
            assert set(response.headers["Allow"].split(", ")) >= set(allowed) - {"HEAD", "OPTIONS"}
            assert _problems(response) == [], (method, path)


def test_an_unknown_static_file_is_a_404(world: World) -> None:
    for path in ("/static/no-such.css", "/static/../idp/app.py", "/static/%ff%fe"):
        response = world.anonymous.get(path)
        assert response.status_code == 404, path
        assert _problems(response) == [], path


@pytest.mark.parametrize("rule", sorted(SWEPT))
def test_malformed_requests_get_a_clear_4xx_never_a_500(world: World, rule: str) -> None:
    failures = []
    for method in _methods(world.app, rule):
        for path in _paths(rule, world):
            for hostile in HOSTILE:
                response = _send(world, rule, method, path, hostile)
                failures += [f"{method} {path[:60]} [{hostile.name}]: {problem}"
                             for problem in _problems(response)]
    assert failures == [], "\n".join(failures)



NUL = "a\x00b"  # PostgreSQL text cannot hold it; SQLite can: only PostgreSQL shows a 500


def test_a_nul_character_anywhere_is_a_400_on_both_databases(db_app: Flask) -> None:
    client_id, secret = register(db_app)
    world = _world(db_app, Rp(db_app, db_app.test_client(), client_id, secret))
    for name in world.values:
        world.values[name] = ("x%00y",)
    basic = "Basic " + _b64(f"{NUL}:{NUL}".encode())
    failures = []
    for rule in sorted(SWEPT):
        for method in _methods(world.app, rule):
            for path in _paths(rule, world):
                for kwargs in ({"query_string": {"client_id": NUL, "request_uri": NUL,
                                                 "redirect_uri": NUL, "token": NUL}},
                               {"data": {"client_id": NUL, "client_secret": NUL, "token": NUL,
                                         "code": NUL, "grant_type": "authorization_code",
                                         "refresh_token": NUL, "code_verifier": NUL,
                                         "device_code": NUL, "scope": NUL}},
                               {"data": {"token": NUL}, "headers": {"Authorization": basic}},
                               {"json": {"name": NUL, "approve": True, "claims": [NUL],
                                         "agree": True, "version": NUL, "user_code": NUL}}):
                    browser, token = _browser(world, rule)
                    headers = {**kwargs.pop("headers", {}), "X-CSRF-Token": token}
                    response = browser.open(path, method=method, headers=headers, **kwargs)
                    failures += [f"{method} {path} {sorted(kwargs)}: {problem}"
                                 for problem in _problems(response)]
    assert failures == [], "\n".join(failures)


def test_a_malformed_card_answer_uses_nothing_up(world: World) -> None:
    """A body that is no answer at all leaves the card request open for the card's real one."""
    live = world.values["request_id"][0]
    for body in ({"certificate": "not base64!"}, [], {"signature": "AAAA"}):
        refused = world.anonymous.post(f"/card-requests/{live}", json=body)
        assert refused.status_code == 400, refused.get_json()
        assert refused.get_json()["error"] == "invalid_request"
    uid = world.values["uid"][0]
    status = world.anonymous.get(f"/interaction/{uid}/status").get_json()
    assert status["status"] == "pending", status

