"""``age_over_18``, ``age_over_20``, ``age_over_65``: whether the person had reached an age on
the day they logged in, without the birth date itself.

The day is the login's date in Japan (Asia/Tokyo), whatever the server's time zone. Ages follow
年齢計算ニ関スル法律 with Civil Code art. 143: a person turns N at the start of their birthday; one
born on 29 February turns N on 1 March of a common year (the period ends with 28 February).
A birth date that is not a whole ISO date (the card's code for an unknown day or month) gives no
age claim: it is left out, never guessed.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

JAPAN = ZoneInfo("Asia/Tokyo")
AGE_CLAIMS = {"age_over_18": 18, "age_over_20": 20, "age_over_65": 65}


def login_date(auth_time: int) -> date:
    """The calendar day in Japan of the instant ``auth_time`` (seconds since the epoch)."""
    return datetime.fromtimestamp(auth_time, JAPAN).date()


def reached(birth: date, years: int, on: date) -> bool:
    """Whether someone born on ``birth`` is ``years`` old or older on ``on``."""
    year = birth.year + years
    try:
        anniversary = birth.replace(year=year)
    except ValueError:  # 29 February in a common year
        anniversary = date(year, 3, 1)
    return on >= anniversary


def age_claims(birthdate: object, auth_time: int) -> dict[str, bool]:
    """The three age claims for an ISO ``birthdate`` (the verified one), on the login date;
    none when the birth date is missing or not a whole date."""
    if not isinstance(birthdate, str):
        return {}
    try:
        birth = date.fromisoformat(birthdate)
    except ValueError:
        return {}
    if len(birthdate) != 10:  # fromisoformat also reads compact forms: only YYYY-MM-DD is ours
        return {}
    on = login_date(auth_time)
    return {name: reached(birth, years, on) for name, years in AGE_CLAIMS.items()}
