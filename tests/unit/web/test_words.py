"""Levels, issuers and claims read as words on the person's pages."""

from __future__ import annotations

import pytest

from idp.assurance import levels
from idp.web.words import Words, issuer_words

JPKI_SIGN_CA = ("OU=Japan Agency for Local Authority Information Systems,"
                "OU=JPKI for digital signature,O=JPKI,C=JP")


def test_a_level_says_whether_the_identity_was_proven_and_checked_now() -> None:
    assert Words("ja").level(levels.IAL2_AAL2_CARD_NOW.value) == (
        "マイナンバーカードで本人確認済み・このログイン時にJ-LISで確認")
    assert Words("en").level(levels.IAL2_AAL2_PHR.value) == (
        "identity proven with the My Number Card")
    assert Words("en").level(levels.IAL1_AAL2_PHR.value).startswith("identity not proven")


def test_an_unknown_level_keeps_its_value_beside_words() -> None:
    assert Words("en").level("urn:other:acr") == "unknown state (urn:other:acr)"


@pytest.mark.parametrize("level", levels.CATALOGUE)
def test_no_level_reads_as_its_urn(level: levels.AcrLevel) -> None:
    for language in ("ja", "en"):
        assert "urn:" not in Words(language).level(level.value)


def test_claims_read_as_the_consent_page_names_them() -> None:
    assert Words("ja").claims(["name", "age_over_20"]) == (
        "氏名、20歳以上であること（生年月日は送りません）")
    assert Words("en").claims(["address", "x_custom"]) == "Address, x_custom"


def test_an_issuer_is_named_by_its_units() -> None:
    assert issuer_words(JPKI_SIGN_CA) == (
        "JPKI for digital signature / Japan Agency for Local Authority Information Systems")
    assert issuer_words("CN=Test CA,O=Example") == "Test CA"
    assert issuer_words("not a DN") == "not a DN"
    assert issuer_words("") == ""
