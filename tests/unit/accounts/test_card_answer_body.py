"""A card app's answer is read before the card request is claimed (card_answers.Answer)."""

from __future__ import annotations

from typing import Any

import pytest

from idp.accounts.card_answers import Answer, BadAnswerError


@pytest.mark.parametrize("body", [
    {"certificate": "証明書", "signature": "AAAA"},  # base64 holds ASCII only
    {"certificate": "AAAA", "signature": "\u00c1\u00c1\u00c1\u00c1"},
    {"certificate": "not base64!", "signature": "AAAA"},
    {"certificate": 5, "signature": "AAAA"}, {"signature": "AAAA"}, [], None, "answer",
], ids=repr)
def test_a_body_that_is_no_answer_is_a_bad_answer(body: Any) -> None:
    with pytest.raises(BadAnswerError):
        Answer.from_json(body)


def test_an_answer_is_its_certificate_and_signature_decoded() -> None:
    assert Answer.from_json({"certificate": "MAo=", "signature": "AQI="}) == \
        Answer(b"0\n", b"\x01\x02")
