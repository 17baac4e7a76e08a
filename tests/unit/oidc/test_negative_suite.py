"""The negative suite: what the OpenID conformance suite's basic/config plans and the FAPI 2.0 /
RFC 9700 MUSTs expect an OP to refuse, each as one test."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from flask import Flask
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import func, select, update
from werkzeug.datastructures import MultiDict

from idp import db
from idp.accounts.sessions import COOKIE_NAME, cookie_value
from idp.app import services_of
from idp.oidc import flow
from idp.oidc.models import AuthorizationCode, PushedRequest
from tests.unit.oidc.conftest import ISSUER, REDIRECT, Rp, pkce, query, register


def _error_at_rp(location: str) -> dict[str, str]:
    assert location.startswith(REDIRECT + "?"), location
    params = query(location)
    assert params["iss"] == ISSUER
    assert params["state"] == "st-1"
    return params


def _log_in_here(rp: Rp, location: str, private_id: str,
                 acr: str = "urn:jpki-idp:acr:ial2-aal2") -> None:
    """The person logs in at the interaction's prompt, as a login method does (Provider.log_in:
    the interaction records the session its login made)."""
    uid = urlsplit(location).path.rsplit("/", 1)[-1]
    session, _ = flow.Provider(services_of(rp.app).oidc).log_in(
        uid, private_id=private_id, acr=acr, amr=["hwk", "pin", "mfa"], continue_if_done=False)
    secret = services_of(rp.app).oidc.cookie_secret
    rp.browser.set_cookie(COOKIE_NAME, cookie_value(secret, session.id), domain="localhost")


def test_missing_pkce_is_refused_at_the_redirect_uri(rp: Rp) -> None:
    location, _ = rp.authorize(code_challenge=None, code_challenge_method=None)
    assert _error_at_rp(location)["error"] == "invalid_request"


def test_plain_pkce_is_refused(rp: Rp) -> None:
    _, challenge = pkce()
    location, _ = rp.authorize(code_challenge=challenge, code_challenge_method="plain")
    params = _error_at_rp(location)
    assert params["error"] == "invalid_request"
    assert "S256" in params["error_description"]


def test_wrong_code_verifier_is_refused_and_the_code_is_spent(rp: Rp) -> None:
    rp.login()
    code, verifier = rp.code()
    wrong, _ = pkce()
    response = rp.exchange(code, wrong)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"
    assert rp.exchange(code, verifier).get_json()["error"] == "invalid_grant"


def test_code_reuse_fails_and_revokes_the_tokens_issued_from_the_code(rp: Rp) -> None:
    rp.login()
    code, verifier = rp.code()
    first = rp.exchange(code, verifier).get_json()
    bearer = {"Authorization": f"Bearer {first['access_token']}"}
    assert rp.browser.get("/userinfo", headers=bearer).status_code == 200
    second = rp.exchange(code, verifier)
    assert second.status_code == 400
    assert second.get_json()["error"] == "invalid_grant"
    assert rp.browser.get("/userinfo", headers=bearer).status_code == 401
    refreshed = rp.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert refreshed.get_json()["error"] == "invalid_grant"


def test_unregistered_redirect_uri_shows_an_error_page_and_never_redirects(rp: Rp) -> None:
    response = rp.browser.get("/authorize", query_string={
        "client_id": rp.client_id, "redirect_uri": "https://evil.example/cb",
        "response_type": "code", "scope": "openid", "state": "st-1"})
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "redirect_uri" in response.get_data(as_text=True)


def test_redirect_uri_must_match_exactly_not_by_prefix(rp: Rp) -> None:
    response = rp.browser.get("/authorize", query_string={
        "client_id": rp.client_id, "redirect_uri": REDIRECT + "/../x", "response_type": "code"})
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_unknown_client_shows_an_error_page(rp: Rp) -> None:
    response = rp.browser.get("/authorize", query_string={
        "client_id": "rp_nobody", "redirect_uri": REDIRECT, "response_type": "code"})
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_bad_client_secret_is_invalid_client(rp: Rp) -> None:
    rp.login()
    code, verifier = rp.code()
    response = rp.browser.post("/token", auth=(rp.client_id, "wrong"), data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "redirect_uri": REDIRECT})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in response.headers


def test_client_secret_post_is_refused_for_a_basic_client(rp: Rp) -> None:
    response = rp.browser.post("/token", data={
        "grant_type": "authorization_code", "code": "x", "code_verifier": "y",
        "client_id": rp.client_id, "client_secret": rp.secret})
    assert response.status_code == 401


def test_expired_code_is_refused(rp: Rp) -> None:
    rp.login()
    code, verifier = rp.code()
    with db.transaction(services_of(rp.app).sessions) as session:
        session.execute(update(AuthorizationCode).values(expires_at=int(time.time()) - 1))
    response = rp.exchange(code, verifier)
    assert response.get_json()["error"] == "invalid_grant"
    assert "expired" in response.get_json()["error_description"]


def test_prompt_none_without_session_returns_login_required_to_the_rp(rp: Rp) -> None:
    location, _ = rp.authorize(prompt="none")
    assert _error_at_rp(location)["error"] == "login_required"


def test_prompt_none_without_consent_returns_consent_required(rp: Rp) -> None:
    rp.login()
    location, _ = rp.authorize(prompt="none")
    assert _error_at_rp(location)["error"] == "consent_required"


def test_max_age_exceeded_takes_the_person_to_the_login_prompt(rp: Rp) -> None:
    rp.login(now=int(time.time()) - 600)
    rp.code()  # consent given
    location, _ = rp.authorize(max_age="60")
    state = rp.interaction(location)
    assert state["prompt"] == "login"
    assert "max_age" in state["reasons"]


def test_max_age_exceeded_with_prompt_none_is_login_required(rp: Rp) -> None:
    rp.login(now=int(time.time()) - 600)
    location, _ = rp.authorize(max_age="60", prompt="none")
    assert _error_at_rp(location)["error"] == "login_required"


def test_unknown_essential_acr_is_unmet_authentication_requirements(rp: Rp) -> None:
    rp.login()
    claims = '{"id_token": {"acr": {"essential": true, "values": ["urn:nobody:loa:9"]}}}'
    location, _ = rp.authorize(claims=claims)
    assert _error_at_rp(location)["error"] == "unmet_authentication_requirements"


ESSENTIAL_IAL2 = ('{"id_token": {"acr": {"essential": true, '
                  '"values": ["urn:jpki-idp:acr:ial2-aal2"]}}}')


def test_essential_acr_above_the_session_asks_for_a_stronger_login(rp: Rp) -> None:
    rp.login(acr="urn:jpki-idp:acr:ial1-aal2", now=int(time.time()) - 60)
    location, _ = rp.authorize(claims=ESSENTIAL_IAL2)
    state = rp.interaction(location)
    assert state["prompt"] == "login"
    assert state["reasons"] == ["acr_not_met"]


def test_essential_acr_still_unmet_after_a_login_here_is_unmet_authentication_requirements(
        rp: Rp, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [int(time.time())]
    monkeypatch.setattr(flow, "now", lambda: clock[0])
    private_id = rp.login(acr="urn:jpki-idp:acr:ial1-aal2", now=clock[0] - 60)
    location, _ = rp.authorize(claims=ESSENTIAL_IAL2)
    _log_in_here(rp, location, private_id, acr="urn:jpki-idp:acr:ial1-aal2")
    clock[0] += 2
    answer = rp.interaction(location)  # nothing left to try: the RP is told, not a new login
    assert answer["prompt"] == "done"
    params = _error_at_rp(answer["redirect_to"])
    assert params["error"] == "unmet_authentication_requirements"
    assert params["iss"] == ISSUER


def test_a_voluntary_acr_above_the_session_is_no_reason_for_login_required(rp: Rp) -> None:
    rp.login(acr="urn:jpki-idp:acr:ial1-aal2", now=int(time.time()) - 60)
    rp.code()  # consent given
    location, _ = rp.authorize(prompt="none", acr_values="urn:jpki-idp:acr:ial2-aal2")
    assert "code" in query(location)


def test_a_login_at_the_max_age_prompt_satisfies_it_even_at_zero_and_consent_follows(
        rp: Rp, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [int(time.time())]
    monkeypatch.setattr(flow, "now", lambda: clock[0])
    private_id = rp.login(now=clock[0] - 600)
    location, _ = rp.authorize(max_age="0")
    state = rp.interaction(location)
    assert (state["prompt"], state["reasons"]) == ("login", ["max_age"])
    _log_in_here(rp, location, private_id)  # the person logs in at the prompt
    clock[0] += 5  # and takes a few seconds over the consent page
    state = rp.interaction(location)
    assert state["prompt"] == "consent", state
    answer = rp.act(state, "consent", {"approve": True, "claims": state["requested"]["claims"]})
    assert "code" in query(answer.get_json()["redirect_to"])


def test_missing_nonce_is_refused(rp: Rp) -> None:
    location, _ = rp.authorize(nonce=None)
    params = _error_at_rp(location)
    assert params["error"] == "invalid_request"
    assert "nonce" in params["error_description"]


def test_only_the_code_response_type_is_supported(rp: Rp) -> None:
    location, _ = rp.authorize(response_type="id_token")
    assert _error_at_rp(location)["error"] == "unsupported_response_type"


def test_tampered_request_object_is_invalid_request_object(app: Flask) -> None:
    key = ECKey.generate_key("P-256")
    jwks = {"keys": [{**key.as_dict(private=False), "kid": "rp-1"}]}
    client_id, _ = register(app, auth_method="private_key_jwt", jwks=jwks)
    _, challenge = pkce()
    signed = jwt.encode({"alg": "ES256", "kid": "rp-1"}, {
        "iss": client_id, "aud": ISSUER, "client_id": client_id, "response_type": "code",
        "redirect_uri": REDIRECT, "scope": "openid", "nonce": "n", "state": "st-1",
        "code_challenge": challenge, "code_challenge_method": "S256",
        "exp": int(time.time()) + 60}, key)
    header, payload, signature = signed.split(".")
    tampered = f"{header}.{payload[:-4]}AAAA.{signature}"
    response = app.test_client().get("/authorize", query_string={
        "client_id": client_id, "request": tampered, "redirect_uri": REDIRECT,
        "state": "st-1"})
    assert _error_at_rp(response.headers["Location"])["error"] == "invalid_request_object"


def test_refresh_token_reuse_revokes_the_grant(rp: Rp) -> None:
    rp.login()
    code, verifier = rp.code()
    first = rp.exchange(code, verifier).get_json()
    second = rp.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == 200
    reused = rp.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert reused.get_json()["error"] == "invalid_grant"
    newest = rp.token(grant_type="refresh_token",
                      refresh_token=second.get_json()["refresh_token"])
    assert newest.get_json()["error"] == "invalid_grant"


REPEATABLE = ("client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
              "code_challenge", "code_challenge_method", "prompt", "claims", "request_uri")


def _authorization(rp: Rp) -> list[tuple[str, str]]:
    _, challenge = pkce()
    return [("client_id", rp.client_id), ("redirect_uri", REDIRECT), ("response_type", "code"),
            ("scope", "openid"), ("state", "st-1"), ("nonce", "n-1"),
            ("code_challenge", challenge), ("code_challenge_method", "S256")]


def _twice(params: list[tuple[str, str]], name: str) -> list[tuple[str, str]]:
    """``params`` with ``name`` sent a second time (another value: which one would count?)."""
    value = dict(params).get(name, "x")
    second = "https://evil.example/cb" if name == "redirect_uri" else value + "-2"
    return [*params, *([(name, value)] if name not in dict(params) else []), (name, second)]


@pytest.mark.parametrize("name", REPEATABLE)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_repeated_authorization_parameter_is_refused_on_a_page_never_redirected(
        rp: Rp, name: str, method: str) -> None:
    """RFC 6749 §3.1: parameters MUST NOT be included more than once. Which redirect_uri or
    client_id was meant cannot be told, so the error is shown, as for an unverified client."""
    rp.login()
    params = MultiDict(_twice(_authorization(rp), name))
    sent = {"query_string": params} if method == "GET" else {"data": params}
    page = rp.browser.open("/authorize", method=method, **sent)
    assert page.status_code == 400
    assert "Location" not in page.headers
    assert name in page.get_data(as_text=True)
    answer = rp.browser.open("/authorize", method=method, headers={"Accept": "application/json"},
                             **sent)
    assert answer.status_code == 400
    assert answer.get_json()["error"] == "invalid_request"


def test_a_parameter_in_both_the_query_and_the_body_of_a_post_is_repeated(rp: Rp) -> None:
    response = rp.browser.post("/authorize", query_string={"state": "st-q"},
                               data=dict(_authorization(rp)),
                               headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


@pytest.mark.parametrize("name", [*REPEATABLE[:-1], "client_secret"])
def test_a_repeated_parameter_is_refused_at_par_and_nothing_is_pushed(rp: Rp, name: str) -> None:
    params = _twice([*_authorization(rp), ("client_secret", rp.secret or "")], name)
    response = rp.browser.post("/par", data=MultiDict(params))
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
    with services_of(rp.app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(PushedRequest)) == 0
