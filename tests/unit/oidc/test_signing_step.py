"""The JSON face of the signing step (sign → status → continue → code) and the code exchange
returning the signed ``authorization_details``, on SQLite and PostgreSQL (the one-statement
token path) and through both token adapters. The card's answer is recorded as card_answers
records it (its checks are covered with the simulator in tests/integration/card_login)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest

from idp import db
from idp.accounts import card_requests
from idp.accounts.card_signing import signed_result
from idp.app import services_of
from idp.oidc.signing_details import TYPE
from tests.unit.oidc.conftest import Rp, query

DOCUMENT = {"title": "振込の承認", "text": "振込先: 青空銀行 本店 普通 1234567\n金額: 2,500,000円"}
DETAILS = json.dumps([{"type": TYPE, "document": DOCUMENT}])


def _at_sign_step(rp: Rp) -> tuple[dict[str, Any], str]:
    rp.login()
    location, verifier = rp.authorize(authorization_details=DETAILS)
    state = rp.interaction(location)
    if state["prompt"] == "consent":
        answer = rp.act(state, "consent", {"approve": True, "claims": state["requested"][
            "claims"]}).get_json()
        state = rp.interaction(answer["redirect_to"])
    assert state["prompt"] == "sign", state
    assert state["document"] == DOCUMENT
    assert set(state["actions"]) >= {"sign", "abort"}
    return state, verifier


def _card_answered(rp: Rp, request_id: str, *, accepted: bool) -> dict[str, Any] | None:
    """Record the card's answer as card_answers does after its checks."""
    with db.transaction(services_of(rp.app).sessions) as session:
        row = card_requests.claim(session, request_id, datetime.now(UTC))
        if not accepted:
            card_requests.record(session, request_id, outcome="refused", error=(
                "certificate_revoked", "J-LIS revoked the certificate"))
            return None
        result = {**signed_result(row, b"DER", b"SIG", "http://idp.test"),
                  "certificate_status": "good"}
        card_requests.record(session, request_id, outcome="accepted", result=result)
        return result


def _status_then_continue(rp: Rp, state: dict[str, Any]) -> str:
    status = rp.browser.get(f"/interaction/{state['uid']}/status").get_json()
    response = rp.act({**state, **status}, "continue", {})
    assert response.status_code == 200, response.get_json()
    redirect_to: str = response.get_json()["redirect_to"]
    return redirect_to


@pytest.mark.parametrize("adapter", ["fast", "flask"])
def test_sign_status_continue_gives_a_code_whose_tokens_carry_the_signature(
        db_rp: Rp, adapter: str) -> None:
    state, verifier = _at_sign_step(db_rp)
    opened = db_rp.act(state, "sign", {})
    assert opened.status_code == 200, opened.get_json()
    request_id = opened.get_json()["request_id"]
    described = db_rp.browser.get(urlsplit(opened.get_json()["request_url"]).path).get_json()
    assert described["purpose"] == "sign"
    assert described["certificate"] == "sign"
    assert described["document"] == DOCUMENT
    result = _card_answered(db_rp, request_id, accepted=True)
    assert result is not None
    back = _status_then_continue(db_rp, state)
    code = query(back)["code"]
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": back.split("?")[0]}
    options = {} if adapter == "fast" else {"content_type": "multipart/form-data"}
    token = db_rp.browser.post("/token", data=form, auth=(db_rp.client_id, db_rp.secret),
                               **options)
    assert token.status_code == 200, token.get_json()
    assert token.get_json()["authorization_details"] == [{
        "type": TYPE, "document": DOCUMENT, "to_be_signed": result["to_be_signed"],
        "signature": "U0lH", "certificate": "REVS", "signed_at": result["signed_at"],
        "status": "good"}]


def test_no_code_before_the_document_is_signed_and_prompt_none_needs_interaction(
        rp: Rp) -> None:
    state, _ = _at_sign_step(rp)
    shown = rp.browser.get(f"/interaction/{state['uid']}", headers={"Accept": "application/json"})
    assert shown.get_json()["prompt"] == "sign"  # not redirected with a code
    location, _ = rp.authorize(authorization_details=DETAILS, prompt="none")
    assert query(location)["error"] == "interaction_required"


def test_a_refused_signature_tells_the_rp_access_denied_with_the_reason(rp: Rp) -> None:
    state, _ = _at_sign_step(rp)
    request_id = rp.act(state, "sign", {}).get_json()["request_id"]
    _card_answered(rp, request_id, accepted=False)
    status = rp.browser.get(f"/interaction/{state['uid']}/status",
                            headers={"Accept-Language": "en"}).get_json()
    assert status["error"] == "certificate_revoked"
    assert "revoked" in status["error_description"]
    back = query(_status_then_continue(rp, state))
    assert back["error"] == "access_denied"
    assert "certificate_revoked" in back["error_description"]


def test_a_signature_continues_once_and_is_no_login(rp: Rp) -> None:
    state, _ = _at_sign_step(rp)
    request_id = rp.act(state, "sign", {}).get_json()["request_id"]
    _card_answered(rp, request_id, accepted=True)
    as_login = rp.act({**state, "actions": {"continue": {
        "href": f"/interaction/{state['uid']}/card/continue"}}}, "continue", {})
    assert as_login.status_code == 409  # a signature does not log anyone in
    assert "code" in query(_status_then_continue(rp, state))
    again = rp.browser.post(f"/interaction/{state['uid']}/sign/continue", json={},
                            headers={"X-CSRF-Token": state["csrf_token"]})
    assert again.status_code == 404  # the interaction is over: the signature was used once


def test_the_sign_action_needs_a_document(rp: Rp) -> None:
    rp.login()
    location, _ = rp.authorize()
    state = rp.interaction(location)
    assert "sign" not in state["actions"]
    refused = rp.browser.post(f"/interaction/{state['uid']}/sign", json={},
                              headers={"X-CSRF-Token": state["csrf_token"]})
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_authorization_details"


def test_the_page_shows_the_whole_document_and_the_sign_button(rp: Rp) -> None:
    state, _ = _at_sign_step(rp)
    page = rp.browser.get(f"/interaction/{state['uid']}?lang=en").get_data(as_text=True)
    assert DOCUMENT["title"] in page
    assert DOCUMENT["text"] in page
    assert 'data-card="sign"' in page
    assert "under 15" in page


def test_to_be_signed_ends_with_the_hash_of_the_document_text(rp: Rp) -> None:
    state, _ = _at_sign_step(rp)
    request_id = rp.act(state, "sign", {}).get_json()["request_id"]
    with services_of(rp.app).sessions() as session:
        row = card_requests.load(session, request_id)
        lines = card_requests.to_be_signed(row, "http://idp.test").decode().split("\n")
    assert lines[:4] == ["jpki-idp/1", "http://idp.test", "sign", request_id]
    assert lines[-1] == hashlib.sha256(DOCUMENT["text"].encode()).hexdigest()
    assert len(lines) == 6
