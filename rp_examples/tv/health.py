"""The TV's health page: the person's name and age band from the IdP, and checkup results that are
made up (a sample: no real health record is read anywhere), the same for one person each time."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from rp_examples.common.profile import Text, text


@dataclass(frozen=True)
class Checkup:
    year: int
    height_cm: float
    weight_kg: float
    systolic: int
    diastolic: int
    hba1c: float

    @property
    def bmi(self) -> float:
        return round(self.weight_kg / (self.height_cm / 100) ** 2, 1)


def age_band(claims: Mapping[str, Any], today: date | None = None) -> Text | None:
    """"40代" / "40s" from the birthdate the IdP released; None without one."""
    born = claims.get("birthdate")
    if not isinstance(born, str):
        return None
    try:
        birth = date.fromisoformat(born)
    except ValueError:
        return None
    today = today or date.today()
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    decade = max(age, 0) // 10 * 10
    return text(f"{decade}代", f"{decade}s")


def checkups(sub: str, this_year: int | None = None) -> list[Checkup]:
    """Three yearly checkups, made up from the subject identifier (a sample, not a record)."""
    seed = hashlib.sha256(sub.encode()).digest()
    year = this_year or date.today().year
    height = 150 + seed[0] % 35
    made = []
    for back in range(3):
        part = seed[1 + back * 4: 5 + back * 4]
        made.append(Checkup(
            year=year - back, height_cm=float(height),
            weight_kg=round(45 + part[0] % 40 + part[1] % 10 / 10, 1),
            systolic=105 + part[1] % 40, diastolic=65 + part[2] % 25,
            hba1c=round(5.0 + part[3] % 15 / 10, 1)))
    return made


SAMPLE_NOTE = text("表示している健診結果はサンプル（架空のデータ）です。",
                   "The checkup results shown are a sample (made-up data).")

