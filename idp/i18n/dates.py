"""Dates and times as a person reads them: in their language and the instance's time zone.

The database and every JSON face keep machine values (ISO 8601 in UTC, or epoch seconds); the
HTML pages show them through :class:`Clock` — "2026年12月3日 4:30 JST" or "December 3, 2026,
4:30 AM JST" — written with Babel from the CLDR data of the language (Japanese by default,
English). The time zone is the ``time_zone`` setting (``Asia/Tokyo`` by default): a Japanese
service shows Japanese time, whatever the server's own clock zone is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from babel.dates import get_timezone_name as _zone_name

Moment = datetime | int | float | str


def as_utc(value: Moment) -> datetime:
    """``value`` as an aware datetime: a datetime (naive ones are UTC, as the database stores
    them), epoch seconds, or an ISO 8601 string."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Clock:
    """Formats moments for one language and time zone (``Clock("ja", "Asia/Tokyo")``)."""

    language: str
    time_zone: str = "Asia/Tokyo"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def local(self, value: Moment) -> datetime:
        return as_utc(value).astimezone(self.zone)

    def when(self, value: Moment | None, missing: str = "—") -> str:
        """Date and time of day with the zone: ``2026年12月3日 4:30 JST``."""
        if value is None:
            return missing
        moment = self.local(value)
        day = format_date(moment, "long", locale=self.language)
        time = format_time(moment, "short", locale=self.language)
        return f"{day} {time} {self.zone_abbreviation(moment)}"

    def zone_abbreviation(self, moment: datetime) -> str:
        """``JST`` where CLDR has an abbreviation in the language, else ``GMT+09:00``."""
        short = format_datetime(moment, "z", tzinfo=self.zone, locale=self.language)
        if not short or short[0] in "+-":  # only an offset ("+0900"): "GMT+09:00" reads better
            return format_datetime(moment, "ZZZZ", tzinfo=self.zone, locale=self.language)
        return short

    def day(self, value: Moment | date | None, missing: str = "—") -> str:
        """The calendar day in the zone: ``2031年12月2日`` / ``December 2, 2031``."""
        if value is None:
            return missing
        if isinstance(value, date) and not isinstance(value, datetime):
            return format_date(value, "long", locale=self.language)
        return format_date(self.local(value), "long", locale=self.language)

    def zone_name(self) -> str:
        """The zone as words: ``日本時間`` / ``Japan Time``."""
        return _zone_name(self.zone, locale=self.language)

    def iso(self, value: Moment | None) -> str:
        """The machine form for a ``<time datetime=...>`` attribute (UTC, ISO 8601)."""
        return as_utc(value).isoformat() if value is not None else ""
