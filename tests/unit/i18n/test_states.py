"""States and check results read as words; the codes stay for machines."""

from __future__ import annotations

import pytest

from idp.accounts.anchor_policy import AnchorState
from idp.i18n import catalogue
from idp.i18n.states import result_words, state_words


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("state", [s.value for s in AnchorState])
def test_every_anchor_state_has_words(language: str, state: str) -> None:
    assert f"state.anchor.{state}" in catalogue(language)
    assert state_words(language, "anchor", state) != state
    assert state not in state_words("ja", "anchor", state)


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("state", ["active", "suspended", "closed"])
def test_every_private_id_state_has_words(language: str, state: str) -> None:
    assert f"state.private_id.{state}" in catalogue(language)
    assert state_words(language, "private_id", state) != state
    assert state not in state_words("ja", "private_id", state)


def test_states_read_in_the_persons_language() -> None:
    assert state_words("ja", "private_id", "active") == "利用中"
    assert state_words("en", "private_id", "active") == "in use"
    assert state_words("ja", "anchor", "needs_reissue").startswith("再発行が必要")
    assert state_words("en", "anchor", "needs_reissue").startswith("re-issue needed")


def test_an_unknown_state_reads_as_a_sentence_with_its_code() -> None:
    assert state_words("ja", "anchor", "frozen") == "不明な状態（frozen）"
    assert state_words("en", "private_id", "frozen") == "unknown state (frozen)"


def test_check_results_read_as_what_j_lis_said() -> None:
    assert result_words("ja", "sign_good") == "J-LISの回答：失効していません"
    assert result_words("en", "sign_good") == "J-LIS answered: not revoked"
    assert result_words("en", "sign_expired") == "the signing certificate has expired"
    assert result_words("en", None) == "no result recorded"


def test_a_revocation_result_names_its_reason_in_words() -> None:
    assert result_words("ja", "sign_revoked:affiliation_changed") == (
        "署名用電子証明書が失効しています（記載事項の変更（転居・氏名の変更など）、国外転出または死亡）")
    assert result_words("en", "card_revoked:certificate_hold") == (
        "the card's certificates were revoked (card on hold (reported lost))")
    # a reason the catalogue does not know yet keeps the sentence around it
    assert result_words("en", "sign_revoked:brand_new") == (
        "the signing certificate was revoked (brand_new)")


def test_an_unknown_result_is_a_sentence_with_its_code() -> None:
    assert result_words("en", "re-checked_by_moon") == "unknown state (re-checked_by_moon)"


def test_the_two_catalogues_have_the_same_keys() -> None:
    assert catalogue("ja").keys() == catalogue("en").keys()
