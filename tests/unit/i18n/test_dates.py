"""Dates and times read in the person's language and the instance's time zone, never as ISO."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from idp.i18n.dates import Clock, as_utc
from idp.settings import Settings

# 2026-12-02 19:30 UTC is already 3 December in Tokyo (UTC+9).
EVENING_UTC = datetime(2026, 12, 2, 19, 30, tzinfo=UTC)


def test_a_moment_reads_in_japanese_in_japan_time_by_default() -> None:
    assert Clock("ja").when(EVENING_UTC) == "2026年12月3日 4:30 JST"


def test_a_moment_reads_in_english_with_the_zone_named() -> None:
    # CLDR puts a narrow no-break space before AM/PM
    assert Clock("en").when(EVENING_UTC) == "December 3, 2026 4:30\u202fAM GMT+09:00"


def test_the_time_zone_setting_moves_the_clock_and_the_day() -> None:
    assert Clock("en", "UTC").when(EVENING_UTC) == "December 2, 2026 7:30\u202fPM UTC"
    assert Clock("ja", "UTC").day(EVENING_UTC) == "2026年12月2日"
    assert Clock("ja", "Asia/Tokyo").day(EVENING_UTC) == "2026年12月3日"
    assert Clock("en", "America/New_York").when(EVENING_UTC) == "December 2, 2026 2:30\u202fPM EST"


@pytest.mark.parametrize("value", [EVENING_UTC, EVENING_UTC.replace(tzinfo=None),
                                   int(EVENING_UTC.timestamp()), EVENING_UTC.timestamp(),
                                   "2026-12-02T19:30:00+00:00", "2026-12-03T04:30:00+09:00"])
def test_every_stored_form_of_a_moment_reads_the_same(value: object) -> None:
    # datetimes from the database (naive ones are UTC), epoch seconds, ISO strings of a JSON face
    assert Clock("ja").when(value) == "2026年12月3日 4:30 JST"  # type: ignore[arg-type]


def test_a_calendar_date_is_not_moved_by_the_time_zone() -> None:
    assert Clock("ja", "America/Los_Angeles").day(date(1980, 2, 17)) == "1980年2月17日"
    assert Clock("en").day(date(1980, 2, 17)) == "February 17, 1980"


def test_a_missing_moment_reads_as_the_words_given() -> None:
    assert Clock("ja").when(None) == "—"
    assert Clock("en").when(None, "never used") == "never used"
    assert Clock("en").day(None) == "—"


def test_the_zone_has_a_name_in_each_language() -> None:
    assert Clock("ja").zone_name() == "日本時間"
    assert Clock("en").zone_name() == "Japan Time"


def test_the_machine_form_stays_utc_iso() -> None:
    assert Clock("ja").iso(1796239800) == "2026-12-02T19:30:00+00:00"
    assert Clock("ja").iso(None) == ""
    assert as_utc(EVENING_UTC.replace(tzinfo=None)) == EVENING_UTC


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Asia", "", "../../etc/passwd", "UTC\x00"])
def test_an_unknown_time_zone_setting_is_refused_when_the_settings_load(zone: str) -> None:
    with pytest.raises(ValueError, match="not an IANA time zone name"):
        Settings(time_zone=zone)
    assert Settings().time_zone == "Asia/Tokyo"
