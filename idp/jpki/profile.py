"""The JPKI certificate profile: object identifiers, the era-date code and the basic 4 info.

Sources: J-LIS certificate profile (公的個人認証サービス 証明書プロファイル) as restated in
``docs/trust-core.md``; the 4 info travel in the signing certificate's subjectAltName as
otherName UTF8Strings under 1.2.392.200149.8.5.5.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta

from cryptography.x509 import ObjectIdentifier

_ARC = "1.2.392.200149.8.5"

OID_NAME = ObjectIdentifier(f"{_ARC}.5.1")
OID_NAME_SUBSTITUTES = ObjectIdentifier(f"{_ARC}.5.2")
OID_SEX = ObjectIdentifier(f"{_ARC}.5.3")
OID_BIRTH_DATE = ObjectIdentifier(f"{_ARC}.5.4")
OID_ADDRESS = ObjectIdentifier(f"{_ARC}.5.5")
OID_ADDRESS_SUBSTITUTES = ObjectIdentifier(f"{_ARC}.5.6")

POLICY_SIGN = ObjectIdentifier(f"{_ARC}.1.1.20")
POLICY_AUTH = ObjectIdentifier(f"{_ARC}.1.3.30")

TOKEN_CARD = "JPKIAPICCTOKEN2"  # noqa: S105  (token label, not a secret)
TOKEN_PHONE = "JPKIAPGPSETOKEN"  # noqa: S105


class Purpose(enum.StrEnum):
    """Which of the two JPKI key pairs a certificate belongs to."""

    SIGN = "sign"  # 署名用電子証明書
    AUTH = "auth"  # 利用者証明用電子証明書

    @property
    def policy_oid(self) -> ObjectIdentifier:
        return POLICY_SIGN if self is Purpose.SIGN else POLICY_AUTH


class Medium(enum.StrEnum):
    """Where the private key lives."""

    CARD = "card"  # My Number Card
    PHONE = "phone"  # スマホ用電子証明書 (profile assumed: the real one is not public)


class Sex(enum.IntEnum):
    """Sex code of the resident register (住民票) as carried in OID .5.3."""

    MALE = 1
    FEMALE = 2
    UNKNOWN = 3


class Era(enum.IntEnum):
    """The era digit of a JPKI birth date; the date that follows is Gregorian."""

    UNKNOWN = 0
    MEIJI = 1  # 明治
    TAISHO = 2  # 大正
    SHOWA = 3  # 昭和
    HEISEI = 4  # 平成
    REIWA = 5  # 令和


# First day of each era (Gregorian).
_ERA_STARTS = [
    (date(2019, 5, 1), Era.REIWA),
    (date(1989, 1, 8), Era.HEISEI),
    (date(1926, 12, 25), Era.SHOWA),
    (date(1912, 7, 30), Era.TAISHO),
    (date(1868, 10, 23), Era.MEIJI),
]


def era_of(day: date) -> Era:
    for start, era in _ERA_STARTS:
        if day >= start:
            return era
    return Era.UNKNOWN


def encode_birth_date(day: date) -> str:
    """``date(1980, 2, 17)`` → ``"319800217"`` (era digit, then the Gregorian YYYYMMDD)."""
    return f"{era_of(day).value}{day:%Y%m%d}"


class BirthDateFormatError(ValueError):
    """The birth date is not of the form EYYYYMMDD."""


def decode_birth_date(code: str) -> tuple[Era, date | None]:
    """``"319800217"`` → ``(Era.SHOWA, date(1980, 2, 17))``; an unknown date decodes to None."""
    if len(code) != 9 or not (code.isascii() and code.isdigit()) or int(code[0]) > Era.REIWA:
        raise BirthDateFormatError(f"birth date {code!r} is not EYYYYMMDD")
    era = Era(int(code[0]))
    try:
        day = date(int(code[1:5]), int(code[5:7]), int(code[7:9]))
    except ValueError:
        return era, None  # partially unknown dates (不詳) carry zeros
    return era, day


@dataclass(frozen=True, slots=True)
class Basic4Info:
    """基本4情報 as certified by J-LIS: name, birth date, sex, address (+ substitute flags)."""

    name: str  # family and given name separated by a full-width space
    birth_date: date | None
    sex: Sex
    address: str  # from the prefecture, no postcode
    birth_date_code: str = ""
    name_substitutes: str = ""  # positions of characters replaced by substitutes (代替文字)
    address_substitutes: str = ""

    @property
    def has_substitutes(self) -> bool:
        return bool(self.name_substitutes or self.address_substitutes)

    def age_on(self, day: date) -> int | None:
        """Age on ``day``, or None when the birth date is unknown."""
        return None if self.birth_date is None else age_on(self.birth_date, day)


def age_on(born: date, day: date) -> int:
    """Completed years on ``day``.

    年齢計算ニ関スル法律 (Act on Age Calculation, 1902): a year is completed at the end of the
    day before the anniversary, so on the day before the birthday one already has the new age.
    """
    tomorrow = day + timedelta(days=1)
    return tomorrow.year - born.year - ((tomorrow.month, tomorrow.day) < (born.month, born.day))
