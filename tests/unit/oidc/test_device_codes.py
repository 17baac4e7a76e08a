"""User codes and device codes of the device authorization grant (RFC 8628 §5.1, §5.2, §6.1)."""

from __future__ import annotations

import collections

import pytest

from idp.oidc import device_codes as codes


def test_a_user_code_is_eight_letters_of_the_base_20_alphabet() -> None:
    assert codes.ALPHABET == "BCDFGHJKLMNPQRSTVWXZ"
    assert len(set(codes.ALPHABET)) == 20
    for _ in range(200):
        code = codes.new_user_code()
        assert len(code) == 8
        assert set(code) <= set(codes.ALPHABET)


def test_user_codes_use_the_whole_alphabet_about_evenly() -> None:
    """Each character is drawn uniformly: over 2,000 codes (16,000 characters) every letter
    shows up, none more than twice as often as another."""
    counts = collections.Counter("".join(codes.new_user_code() for _ in range(2000)))
    assert set(counts) == set(codes.ALPHABET)
    assert max(counts.values()) < 2 * min(counts.values())


def test_a_user_code_is_shown_in_two_groups_of_four() -> None:
    assert codes.display("BCDFGHJK") == "BCDF-GHJK"


@pytest.mark.parametrize("typed", [
    "BCDF-GHJK", "bcdf-ghjk", "bcdfghjk", " BCDF GHJK ", "Bcdf–Ghjk", "ＢＣＤＦ－ＧＨＪＫ",
    "BCDF\u3000GHJK", "bc-df-gh-jk"])
def test_typed_codes_are_normalised_whatever_the_case_dashes_and_spaces(typed: str) -> None:
    assert codes.normalise(typed) == "BCDFGHJK"


@pytest.mark.parametrize("typed", ["", "BCDF-GHJ", "BCDF-GHJKL", "BCDF-GHJA", "BCDF-GHJ1",
                                   "AEIOUAEI", "BCDF_GHJK", "BCDF-GHJ\x00"])
def test_what_cannot_be_a_user_code_is_refused_before_any_lookup(typed: str) -> None:
    with pytest.raises(codes.UserCodeFormatError):
        codes.normalise(typed)


def test_user_codes_are_stored_keyed_so_a_database_copy_cannot_search_them() -> None:
    one = codes.user_code_hash("BCDFGHJK", "instance-secret")
    assert one == codes.user_code_hash("BCDFGHJK", "instance-secret")
    assert one != codes.user_code_hash("BCDFGHJK", "another-secret")
    assert "BCDFGHJK" not in one
    assert len(one) == 64


def test_device_codes_carry_256_bits_and_never_repeat() -> None:
    made = {codes.new_device_code() for _ in range(100)}
    assert len(made) == 100
    assert all(len(code) >= 43 for code in made)
