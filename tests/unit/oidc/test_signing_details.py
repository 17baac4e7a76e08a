"""RFC 9396 authorization_details of type jpki_signature: parsed, limited, refused early."""

from __future__ import annotations

import json
from typing import Any

import pytest

from idp.oidc.discovery import metadata
from idp.oidc.signing_details import (
    MAX_TEXT,
    MAX_TITLE,
    Document,
    InvalidAuthorizationDetailsError,
    parse_authorization_details,
)
from tests.unit.oidc.conftest import REDIRECT, Rp, pkce, query

TRANSFER = {"title": "振込の確認", "text": "振込先: 青空銀行 本店 普通 1234567\n金額: 2,500,000円"}


def detail(**document: Any) -> list[dict[str, Any]]:
    return [{"type": "jpki_signature", "document": {**TRANSFER, **document}}]


def test_a_jpki_signature_detail_gives_its_document_exactly_as_sent() -> None:
    assert parse_authorization_details(json.dumps(detail())) == Document(**TRANSFER)
    assert parse_authorization_details(detail(text=" a\r\nb ")) == Document(
        TRANSFER["title"], " a\r\nb ")


def test_no_authorization_details_asks_for_no_signature() -> None:
    assert parse_authorization_details(None) is None
    assert parse_authorization_details("") is None


@pytest.mark.parametrize("raw", [
    "not json", "{}", "[]", "[1]", json.dumps([{"type": "payment_initiation"}]),
    json.dumps([{"document": TRANSFER}]),
    json.dumps(detail() + detail()),
    json.dumps([{"type": "jpki_signature", "document": TRANSFER, "locations": ["x"]}]),
    json.dumps([{"type": "jpki_signature", "document": {"title": "t"}}]),
    json.dumps([{"type": "jpki_signature", "document": "text"}]),
    json.dumps(detail(title="")), json.dumps(detail(text="  \n")),
    json.dumps(detail(title=3)), json.dumps(detail(text="a\x00b")),
    json.dumps(detail(title="x" * (MAX_TITLE + 1))),
    json.dumps(detail(text="x" * (MAX_TEXT + 1))),
    '[{"type": "jpki_signature", "document": {"title": "t", "text": "\\ud800"}}]',
    "[" + " " * 40_000 + "]",
])
def test_malformed_unknown_empty_or_oversized_details_are_refused(raw: str) -> None:
    with pytest.raises(InvalidAuthorizationDetailsError) as refused:
        parse_authorization_details(raw)
    assert refused.value.code == "invalid_authorization_details"
    assert refused.value.status == 400


def test_documents_at_the_limits_are_accepted() -> None:
    document = parse_authorization_details(detail(title="t" * MAX_TITLE, text="x" * MAX_TEXT))
    assert document is not None
    assert len(document.text) == MAX_TEXT


def test_discovery_lists_the_type() -> None:
    assert metadata("http://idp.test")["authorization_details_types_supported"] == [
        "jpki_signature"]


def _par(rp: Rp, details: str) -> Any:
    _, challenge = pkce()
    return rp.browser.post("/par", auth=(rp.client_id, rp.secret), data={
        "client_id": rp.client_id, "redirect_uri": REDIRECT, "response_type": "code",
        "scope": "openid", "nonce": "n", "code_challenge": challenge,
        "code_challenge_method": "S256", "authorization_details": details})


def test_par_refuses_an_oversized_document_with_400_before_storing(rp: Rp) -> None:
    response = _par(rp, json.dumps(detail(text="x" * (MAX_TEXT + 1))))
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_authorization_details"
    assert "request_uri" not in response.get_json()


def test_par_accepts_a_document(rp: Rp) -> None:
    assert _par(rp, json.dumps(detail())).status_code == 201


def test_authorize_sends_an_empty_document_back_to_the_rp_as_invalid(rp: Rp) -> None:
    location, _ = rp.authorize(authorization_details=json.dumps(detail(text="")))
    assert query(location)["error"] == "invalid_authorization_details"
    assert location.startswith(REDIRECT)
