"""The card side of the card request protocol (``docs/card.md``, contract: card requests).

The client fetches the request, checks that what it is asked to sign is exactly the
``jpki-idp/1`` text for the issuer, purpose and request it shows the person, and posts the
certificate and signature back. Refusing a mismatching ``to_be_signed`` protects the person from
signing something other than what they were shown.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from idp.card.errors import AnswerRefusedError, CardRequestError
from idp.jpki.profile import Purpose

PROTOCOL_TAG = "jpki-idp/1"
PURPOSES = {
    "onboard": "prove who you are to open an account (identity verification, 本人確認)",
    "login": "log in (the card holder is here)",
    "reissue": "re-issue your account with your new certificate",
    "consent": "agree to share your verified information",
    "sign": "sign the document shown below (電子署名)",
}
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class CardRequest:
    """A card request as shown to the person before the PIN is entered."""

    url: str
    request_id: str
    issuer: str
    relying_party: str
    purpose: str
    certificate: Purpose
    to_be_signed: bytes
    expires_at: datetime
    document: tuple[str, str] | None = None  # (title, text): purpose sign, shown in full


def parse_request(url: str, data: Any, *, now: datetime | None = None) -> CardRequest:
    """Validate the request JSON and the binding of ``to_be_signed`` to what it says."""
    if not isinstance(data, dict):
        raise CardRequestError("the card request is not a JSON object")
    try:
        request = CardRequest(
            url=url, request_id=_text(data, "request_id"), issuer=_text(data, "issuer"),
            relying_party=_text(data.get("relying_party") or {}, "name"),
            purpose=_text(data, "purpose"), certificate=Purpose(_text(data, "certificate")),
            to_be_signed=_b64url(_text(data, "to_be_signed")),
            expires_at=datetime.fromisoformat(_text(data, "expires_at")),
            document=_document(data) if data.get("purpose") == "sign" else None)
    except (ValueError, TypeError) as error:
        raise CardRequestError(f"the card request is malformed: {error}") from error
    if data.get("hash") != "SHA-256":
        raise CardRequestError(f"the card request asks for hash {data.get('hash')!r}, "
                               "only SHA-256 is signed")
    if request.purpose not in PURPOSES:
        raise CardRequestError(f"unknown purpose {request.purpose!r}")
    if request.expires_at.tzinfo is None or request.expires_at <= (now or datetime.now(UTC)):
        raise CardRequestError("the card request has expired: start again from the web page")
    check_binding(request)
    return request


def check_binding(request: CardRequest) -> None:
    """``to_be_signed`` must read jpki-idp/1 / issuer / purpose / request_id / nonce [/ hash]."""
    try:
        lines = request.to_be_signed.decode("utf-8").split("\n")
    except UnicodeDecodeError as error:
        raise CardRequestError("to_be_signed is not UTF-8 text; refusing to sign") from error
    expected = [PROTOCOL_TAG, request.issuer, request.purpose, request.request_id]
    extra = 2 if request.purpose in ("consent", "sign") else 1  # nonce, and the text's hash
    if lines[:4] != expected or len(lines) != 4 + extra or not all(lines[4:]):
        raise CardRequestError("the data to sign does not match the request shown "
                               f"({request.issuer}, {request.purpose}); refusing to sign")
    # A document is signed through the SHA-256 of its text: it must be the text shown.
    if request.document is not None and \
            lines[-1] != hashlib.sha256(request.document[1].encode()).hexdigest():
        raise CardRequestError("the data to sign is not the document shown; refusing to sign")


def fetch_request(url: str) -> CardRequest:
    try:
        response = requests.get(url, timeout=TIMEOUT_SECONDS,
                                headers={"Accept": "application/json"})
    except requests.RequestException as error:
        raise CardRequestError(f"cannot fetch the card request: {error}") from error
    if response.status_code != 200:
        raise CardRequestError(_refusal(response, "fetching the card request"))
    try:
        data = response.json()
    except ValueError as error:
        raise CardRequestError("the card request URL did not answer JSON") from error
    return parse_request(url, data)


def answer_request(request: CardRequest, certificate: bytes, signature: bytes) -> str:
    """POST the answer; the IdP's status on success, AnswerRefusedError otherwise."""
    body = {"certificate": base64.b64encode(certificate).decode(),
            "signature": base64.b64encode(signature).decode()}
    try:
        response = requests.post(request.url, json=body, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as error:
        raise AnswerRefusedError(f"cannot send the answer: {error}") from error
    if response.status_code != 200:
        raise AnswerRefusedError(_refusal(response, "the answer"))
    try:
        return str(response.json().get("status", "accepted"))
    except (ValueError, AttributeError):
        return "accepted"


def _refusal(response: requests.Response, what: str) -> str:
    try:
        data = response.json()
        return f"the IdP refused {what}: {data['error_description']} ({data['error']})"
    except (ValueError, KeyError, TypeError):
        return f"the IdP answered HTTP {response.status_code} to {what}"


def _text(data: Any, key: str) -> str:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key!r} is missing")
    return value


def _document(data: dict[str, Any]) -> tuple[str, str]:
    document = data.get("document")
    return _text(document, "title"), _text(document, "text")


def _b64url(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise ValueError("to_be_signed is not base64url") from error
