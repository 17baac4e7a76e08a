"""The card client refuses to sign anything but the jpki-idp/1 text of the request it shows."""

from __future__ import annotations

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
