"""POST /token in front of Flask (idp/oidc/token_wsgi.py) answers as the Flask route does."""

from __future__ import annotations

import pytest

from idp.oidc import token_wsgi, tokens
from tests.unit.oidc.conftest import REDIRECT, Rp


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


def test_the_first_of_repeated_parameters_counts_as_in_flask(rp: Rp) -> None:
    rp.login()
    form = _form(rp)
    body = "&".join(f"{k}={v}" for k, v in form.items()) + "&grant_type=refresh_token"
    answer = rp.browser.post("/token", data=body, auth=(rp.client_id, rp.secret or ""),
                             content_type=token_wsgi.FORM)
    assert answer.status_code == 200, answer.get_json()


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
