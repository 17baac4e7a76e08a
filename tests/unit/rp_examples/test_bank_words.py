"""The bank's pages show moments in Japan time and dates in words, never ISO strings."""

from __future__ import annotations

from rp_examples.bank.words import day, when


def test_a_utc_moment_reads_in_japan_time_in_both_languages() -> None:
    assert when("2026-12-02T19:49:21Z", "ja") == "2026年12月3日 04:49（日本時間）"
    assert when("2026-12-02T19:49:31.441271+00:00", "en") == "3 Dec 2026, 04:49 (Japan time)"


def test_a_date_reads_in_words_and_garbage_is_shown_as_it_came() -> None:
    assert day("1980-02-17", "ja") == "1980年2月17日"
    assert day("1980-02-17", "en") == "17 February 1980"
    assert when("yesterday", "ja") == "yesterday"
    assert day(None, "en") == ""
