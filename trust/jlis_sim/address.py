"""Splitting a Japanese address into prefecture and city, for the subject's two L= values.

The signing certificate's subject carries L=<prefecture>, L=<city> (市区町村); the SAN carries the
whole address from the prefecture on, without postcode. Tokyo's 23 wards count as cities (区), and a
county (郡) is skipped to reach its town or village, as the resident register does.
"""

from __future__ import annotations

import re

from trust.jlis_sim.errors import BadRequestError

PREFECTURES: tuple[str, ...] = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県",
    "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県",
    "山梨県", "長野県", "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府",
    "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県",
    "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県",
    "鹿児島県", "沖縄県",
)

# Shortest run ending in 市/区/町/村, after an optional county (…郡). A designated city's ward
# (横浜市中区) stays with its city: the register's 市区町村 is the city.
_CITY = re.compile(r"^(?:[^郡市区町村]+郡)?(?P<city>.+?[市区町村])")
_POSTCODE = re.compile(r"^〒?\s*\d{3}-?\d{4}\s*")


def normalise(address: str) -> str:
    """The address as the certificate carries it: from the prefecture on, no postcode."""
    return _POSTCODE.sub("", address.strip())


def split(address: str) -> tuple[str, str]:
    """``"東京都千代田区永田町1-7-1"`` → ``("東京都", "千代田区")``."""
    text = normalise(address)
    prefecture = next((p for p in PREFECTURES if text.startswith(p)), None)
    if prefecture is None:
        raise BadRequestError(f"address {address!r} must start with a prefecture (e.g. 東京都)")
    match = _CITY.match(text[len(prefecture):])
    if match is None:
        raise BadRequestError(f"address {address!r} names no city, ward, town or village")
    return prefecture, match.group("city")
