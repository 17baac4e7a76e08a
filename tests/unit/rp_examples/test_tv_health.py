"""The TV's health page data: the age band from the released birth date, and sample checkups
that are the same for one person each time and differ between people."""

from __future__ import annotations

from datetime import date

from rp_examples.tv import health


def test_the_age_band_is_the_decade_on_the_day() -> None:
    today = date(2026, 12, 2)
    assert health.age_band({"birthdate": "1980-04-01"}, today) == {"ja": "40代", "en": "40s"}
    assert health.age_band({"birthdate": "1986-12-03"}, today) == {"ja": "30代", "en": "30s"}
    assert health.age_band({"birthdate": "1986-12-02"}, today) == {"ja": "40代", "en": "40s"}


def test_no_or_a_malformed_birth_date_gives_no_band() -> None:
    assert health.age_band({}) is None
    assert health.age_band({"birthdate": "not-a-date"}) is None
    assert health.age_band({"birthdate": 1980}) is None


def test_sample_checkups_are_stable_per_person_and_plausible() -> None:
    first = health.checkups("sub-a", this_year=2026)
    assert first == health.checkups("sub-a", this_year=2026)
    assert first != health.checkups("sub-b", this_year=2026)
    assert [c.year for c in first] == [2026, 2025, 2024]
    for checkup in first:
        assert 150 <= checkup.height_cm < 185
        assert 12 < checkup.bmi < 40
        assert 105 <= checkup.systolic < 145
        assert checkup.diastolic < checkup.systolic
