"""Age claims on the login date in Japan (Asia/Tokyo), at the day's boundaries."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from idp.oidc.age import age_claims, login_date, reached


def _at(utc: str) -> int:
    return int(datetime.fromisoformat(utc).replace(tzinfo=UTC).timestamp())


@pytest.mark.parametrize(("auth_utc", "japan_day"), [
    ("2026-04-01T14:59:59", date(2026, 4, 1)),   # 23:59:59 JST
    ("2026-04-01T15:00:00", date(2026, 4, 2)),   # 00:00:00 JST next day
    ("2026-03-31T15:00:00", date(2026, 4, 1)),   # 00:00 JST, still 31 March in UTC
])
def test_login_date_is_the_day_in_japan(auth_utc: str, japan_day: date) -> None:
    assert login_date(_at(auth_utc)) == japan_day


@pytest.mark.parametrize(("birth", "years", "on", "expected"), [
    (date(2008, 4, 2), 18, date(2026, 4, 2), True),    # birthday today
    (date(2008, 4, 2), 18, date(2026, 4, 1), False),   # birthday tomorrow
    (date(2008, 4, 2), 18, date(2027, 1, 1), True),
    (date(2006, 2, 28), 20, date(2026, 2, 28), True),
    (date(2006, 3, 1), 20, date(2026, 2, 28), False),
    (date(2008, 2, 29), 18, date(2026, 2, 28), False),  # leap day, common year: not yet
    (date(2008, 2, 29), 18, date(2026, 3, 1), True),    # ... turns 18 on 1 March
    (date(2008, 2, 29), 20, date(2028, 2, 29), True),   # leap year: on 29 February
    (date(2008, 2, 29), 20, date(2028, 2, 28), False),
    (date(1961, 5, 5), 65, date(2026, 5, 4), False),
    (date(1961, 5, 5), 65, date(2026, 5, 5), True),
])
def test_reached(birth: date, years: int, on: date, expected: bool) -> None:
    assert reached(birth, years, on) is expected


def test_birthday_starts_at_midnight_japan_time_not_utc() -> None:
    # Born 2008-04-02: 18 from 2026-04-02 00:00 JST = 2026-04-01T15:00Z.
    assert age_claims("2008-04-02", _at("2026-04-01T14:59:59"))["age_over_18"] is False
    assert age_claims("2008-04-02", _at("2026-04-01T15:00:00"))["age_over_18"] is True


def test_all_three_thresholds() -> None:
    claims = age_claims("2006-06-01", _at("2026-06-01T00:00:00"))
    assert claims == {"age_over_18": True, "age_over_20": True, "age_over_65": False}


@pytest.mark.parametrize("birthdate", [None, "", "1980-04", "19800401", "1980-13-01", 19800401,
                                       "1980-04-01T00:00"])
def test_no_age_without_a_whole_birth_date(birthdate: object) -> None:
    assert age_claims(birthdate, _at("2026-01-01T00:00:00")) == {}
