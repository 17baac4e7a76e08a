"""POST /token: the fast path in front of Flask (idp/web/token.py) answers as its route does."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from idp.oidc import tokens
from idp.oidc.errors import RepeatedParameterError
from idp.web import token as token_wsgi
from tests.unit.oidc.conftest import REDIRECT, Rp, register


def _form(rp: Rp) -> dict[str, str]:
    code, verifier = rp.code()
    return {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": REDIRECT}


def test_a_form_post_is_answered_with_tokens_and_no_store_headers(rp: Rp) -> None:
    rp.login()
    answer = rp.token(**_form(rp))
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Pragma"] == "no-cache"
    assert answer.mimetype == "application/json"
    assert {"access_token", "id_token", "refresh_token"} <= set(answer.get_json())


def test_a_multipart_post_goes_to_the_flask_route_which_answers_the_same(rp: Rp) -> None:
    rp.login()
    answer = rp.browser.post("/token", data=_form(rp), auth=(rp.client_id, rp.secret or ""),
                             content_type="multipart/form-data")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    assert {"access_token", "id_token", "refresh_token"} <= set(answer.get_json())


def test_bad_client_credentials_get_401_with_a_basic_challenge(rp: Rp) -> None:
    rp.login()
    answer = rp.browser.post("/token", data=_form(rp), auth=(rp.client_id, "wrong"))
    assert answer.status_code == 401
    assert answer.get_json()["error"] == "invalid_client"
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="idp"'
    assert answer.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("name", ["grant_type", "code", "code_verifier", "redirect_uri",
                                  "client_id", "client_secret"])
@pytest.mark.parametrize("content_type", [token_wsgi.FORM, "multipart/form-data"],
                         ids=["fast path", "Flask route"])
def test_a_repeated_parameter_is_refused_on_both_paths_alike_and_spends_nothing(
        app: Flask, name: str, content_type: str) -> None:
    """RFC 6749 §3.2: parameters MUST NOT be included more than once (the fast path used to
    keep the first, Flask's route too). Refused before the client or the code is read."""
    client_id, secret = register(app, auth_method="client_secret_post")
    rp = Rp(app, app.test_client(), client_id, secret)
    rp.login()
    form = {**_form(rp), "client_id": rp.client_id, "client_secret": rp.secret or ""}
    twice = MultiDict([*form.items(), (name, form[name] + "x")])
    answer = rp.browser.post("/token", data=twice, content_type=content_type)
    assert answer.status_code == 400
    assert answer.get_json()["error"] == "invalid_request"
    assert name in answer.get_json()["error_description"]
    assert answer.headers["Cache-Control"] == "no-store"
    assert rp.browser.post("/token", data=form, content_type=content_type).status_code == 200


def test_too_many_form_parameters_are_refused_with_400(rp: Rp) -> None:
    body = "&".join(f"p{i}=x" for i in range(token_wsgi.MAX_FIELDS + 1))
    answer = rp.browser.post("/token", data=body, content_type=token_wsgi.FORM)
    assert answer.status_code == 400
    assert answer.get_json()["error"] == "invalid_request"


def test_an_unexpected_failure_is_logged_and_answered_500_without_details(
        rp: Rp, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    rp.login()

    def broken(*_: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(tokens, "token_response", broken)
    answer = rp.token(**_form(rp))
    assert answer.status_code == 500
    assert answer.get_json() == {"error": "server_error"}
    assert "database on fire" in caplog.text
    assert "database on fire" not in answer.get_data(as_text=True)


@pytest.mark.parametrize("body", [
    "a", "a=", "&&a=b&", "a+b=c+d", "x=%41%zz", "%E3%81%82=%E3%81%82", "x=%ff%fe",
    "=v", "a=b=c", "redirect_uri=https%3A%2F%2Frp.example%2Fcb%3Fx%3D1%26y%3D2", "a=%2B+%25",
    "", "&", "a&b=&c=3",
])
def test_the_form_parser_reads_bodies_as_parse_qsl_does(body: str) -> None:
    expected: dict[str, str] = {}
    for name, value in parse_qsl(body, keep_blank_values=True, errors="replace"):
        expected.setdefault(name, value)
    assert token_wsgi._form(body) == expected


@pytest.mark.parametrize("body", ["a=1&a=2", "a=1&a=1", "a&a=", "=v&=w", "a+b=1&a%20b=2"])
def test_the_form_parser_refuses_a_repeated_field(body: str) -> None:
    with pytest.raises(RepeatedParameterError):
        token_wsgi._form(body)


def test_a_cached_client_with_a_secret_is_authenticated_without_a_database_session(
        rp: Rp, monkeypatch: pytest.MonkeyPatch) -> None:
    rp.login()
    assert rp.token(**_form(rp)).status_code == 200  # reads the client: now cached
    opened: list[object] = []
    real = token_wsgi._SessionOnDemand.__call__

    def counting(self: token_wsgi._SessionOnDemand) -> object:
        opened.append(self)
        return real(self)

    monkeypatch.setattr(token_wsgi._SessionOnDemand, "__call__", counting)
    assert rp.token(**_form(rp)).status_code == 200
    assert opened == []
    assert rp.browser.post("/token", data=_form(rp), auth=("rp_unknown", "x")).status_code == 401
    assert len(opened) == 1  # an uncached client id is looked up in the database
