"""RFC 9396 ``authorization_details`` of type ``jpki_signature``: a document to sign with the card.

The relying party sends ``[{"type": "jpki_signature", "document": {"title", "text"}}]`` at
/authorize or /par (PAR recommended: the document need not travel in a URL). The whole
parameter is checked before anything is stored: a type this IdP does not know, a second detail
of this type, members other than ``type`` and ``document``, or a document that is empty or over
the limits is ``invalid_authorization_details`` (RFC 9396 §5). The text is what the card signs
(its SHA-256 is the last line of ``to_be_signed``, contract.md), so it is kept exactly as sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from idp.oidc.errors import OidcError

TYPE = "jpki_signature"
TYPES_SUPPORTED = (TYPE,)
MAX_TITLE = 200  # characters
MAX_TEXT = 10_000  # characters
MAX_PARAMETER = 32_000  # characters of the whole parameter, before it is parsed


class InvalidAuthorizationDetailsError(OidcError):
    """The authorization_details are malformed, of an unknown type, or over the limits."""

    code = "invalid_authorization_details"  # RFC 9396 §5


@dataclass(frozen=True)
class Document:
    """What the person reads and signs: a title and a text, kept exactly as sent."""

    title: str
    text: str

    def to_json(self) -> dict[str, str]:
        return {"title": self.title, "text": self.text}

    @classmethod
    def from_json(cls, data: Any) -> Document | None:
        return None if data is None else cls(str(data["title"]), str(data["text"]))


def parse_authorization_details(raw: Any) -> Document | None:
    """The document to sign, if the request asks for one. ``raw`` is the parameter as the
    query carries it (JSON text) or as a request object carries it (a JSON array)."""
    if raw is None or raw == "":
        return None
    details = _json_array(raw)
    documents = [_document(detail) for detail in details]
    if len(documents) > 1:
        raise InvalidAuthorizationDetailsError(
            f"at most one authorization detail of type {TYPE} may be sent")
    return documents[0] if documents else None


def _json_array(raw: Any) -> list[Any]:
    if isinstance(raw, str):
        if len(raw) > MAX_PARAMETER:
            raise InvalidAuthorizationDetailsError(
                f"authorization_details is longer than {MAX_PARAMETER} characters")
        try:
            raw = json.loads(raw)
        except ValueError as error:
            raise InvalidAuthorizationDetailsError(
                "authorization_details must be a JSON array") from error
    if not isinstance(raw, list) or not raw:
        raise InvalidAuthorizationDetailsError(
            "authorization_details must be a non-empty JSON array of objects")
    return raw


def _document(detail: Any) -> Document:
    if not isinstance(detail, dict) or not isinstance(detail.get("type"), str):
        raise InvalidAuthorizationDetailsError(
            "each authorization detail must be an object with a type")
    if detail["type"] != TYPE:
        raise InvalidAuthorizationDetailsError(
            f"the authorization detail type {json.dumps(detail['type'][:64])} is not "
            f"supported (supported: {TYPE})")
    if set(detail) != {"type", "document"}:
        raise InvalidAuthorizationDetailsError(
            f"a {TYPE} detail has exactly the members type and document")
    document = detail["document"]
    if not isinstance(document, dict) or set(document) != {"title", "text"}:
        raise InvalidAuthorizationDetailsError(
            "the document must be an object with exactly the members title and text")
    title, text = document["title"], document["text"]
    _check_text("title", title, MAX_TITLE)
    _check_text("text", text, MAX_TEXT)
    return Document(title, text)


def _check_text(name: str, value: Any, limit: int) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidAuthorizationDetailsError(f"the document's {name} must be a non-empty string")
    if len(value) > limit:
        raise InvalidAuthorizationDetailsError(
            f"the document's {name} is longer than {limit} characters")
    if "\x00" in value or not _encodable(value):
        raise InvalidAuthorizationDetailsError(
            f"the document's {name} must be UTF-8 text without NUL characters")


def _encodable(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:  # a lone surrogate from JSON's \ud800 escapes
        return False
    return True
