"""The card client refuses to sign anything but the jpki-idp/1 text of the request it shows."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from idp.card.errors import CardRequestError
from idp.card.request import parse_request
from tests.support.card_requests import ISSUER, card_request, to_be_signed

URL = "http://127.0.0.1/card-requests/abc"


def test_a_well_formed_request_parses() -> None:
    request = parse_request(URL, card_request("login", "auth"))
    assert (request.issuer, request.purpose, request.certificate.value) == (ISSUER, "login", "auth")
    assert request.relying_party == "Test Bank"


@pytest.mark.parametrize("data", [
    to_be_signed("onboard", "other-request"),  # another request
    b"jpki-idp/1\nhttp://evil.example\nlogin\nID\nnonce",  # another IdP
    b"please sign this contract",  # not the protocol at all
    b"\xff\xfe",  # not text
])
def test_data_that_is_not_this_requests_text_is_refused(data: bytes) -> None:
    with pytest.raises(CardRequestError, match=r"refusing to sign|malformed|UTF-8"):
        parse_request(URL, card_request("login", "auth", data=data))


def test_a_request_for_another_purpose_than_its_text_is_refused() -> None:
    request = card_request("login", "auth")
    request["purpose"] = "onboard"
    with pytest.raises(CardRequestError, match="does not match"):
        parse_request(URL, request)


def test_an_expired_request_is_refused() -> None:
    request = card_request()
    request["expires_at"] = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    with pytest.raises(CardRequestError, match="expired"):
        parse_request(URL, request)


@pytest.mark.parametrize(("key", "value"), [("hash", "SHA-1"), ("certificate", "both"),
                                            ("purpose", "pay"), ("request_id", None)])
def test_unsupported_or_missing_fields_are_refused(key: str, value: object) -> None:
    request = card_request()
    request[key] = value
    with pytest.raises(CardRequestError):
        parse_request(URL, request)


DOCUMENT = {"title": "振込の承認", "text": "振込先: 青空銀行 1234567\n金額: 2,500,000円"}


def _sign_request(text_signed: str) -> dict[str, object]:
    digest = hashlib.sha256(text_signed.encode()).hexdigest()
    data = to_be_signed("sign", "req-1") + f"\n{digest}".encode()
    request = card_request("sign", "sign", data=data)
    request.update(request_id="req-1", document=DOCUMENT)
    return request


def test_a_sign_request_shows_its_document_and_signs_the_hash_of_its_text() -> None:
    request = parse_request(URL, _sign_request(DOCUMENT["text"]))
    assert request.document == (DOCUMENT["title"], DOCUMENT["text"])


# Built when the test runs (a request made at collection could have expired by then).
NOT_AS_SHOWN = {
    "another_text": lambda: _sign_request("振込先: 悪い銀行 9999999\n金額: 2,500,000円"),
    "no_document": lambda: {**_sign_request(DOCUMENT["text"]), "document": None},
    "no_text": lambda: {**_sign_request(DOCUMENT["text"]), "document": {"title": "t"}},
}


@pytest.mark.parametrize("case", sorted(NOT_AS_SHOWN))
def test_a_sign_request_whose_hash_is_not_the_document_shown_is_refused(case: str) -> None:
    with pytest.raises(CardRequestError, match=r"not the document shown|malformed"):
        parse_request(URL, NOT_AS_SHOWN[case]())
