"""Strict decoding of the J-LIS API's JSON bodies into frozen values (bad shape → JlisError)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from idp.jlis.errors import JlisProtocolError
from idp.jlis.values import (
    AgeAnswer,
    Basic4Answer,
    CaInfo,
    CertificateStatus,
    Metering,
    PairLink,
    PreviousSerials,
    Purpose,
)
from idp.jpki.profile import Basic4Info, BirthDateFormatError, Sex, decode_birth_date

_PURPOSES: dict[str, Purpose] = {"sign": "sign", "auth": "auth"}
_STATUSES: dict[str, CertificateStatus] = {"valid": "valid", "invalid": "invalid",
                                           "unknown": "unknown"}


def ca_info(item: Any) -> CaInfo:
    purpose = _PURPOSES.get(_str(item, "purpose"))
    if purpose is None:
        raise JlisProtocolError(f"J-LIS listed a CA of unknown purpose {item['purpose']!r}")
    return CaInfo(ca_id=_str(item, "ca_id"), purpose=purpose, medium=_str(item, "medium"),
                  label=_str(item, "label"), certificate=_b64(item, "certificate"),
                  key_id=_hex(item, "key_id"), crl_url=_str(item, "crl_url"),
                  ocsp_url=_str(item, "ocsp_url"))


def pair_link(body: Any) -> PairLink:
    return PairLink(_optional_str(body, "sign_serial"), _optional_str(body, "auth_serial"))


def previous(body: Any) -> PreviousSerials:
    serials = _field(body, "previous_serials")
    if not isinstance(serials, list) or not all(isinstance(s, str) for s in serials):
        raise JlisProtocolError("J-LIS sent previous_serials that are not a list of serials")
    return PreviousSerials(_str(body, "serial"), tuple(serials))


def basic4_answer(body: Any) -> Basic4Answer:
    info = _field(body, "basic4")
    code = _str(info, "birth_date")
    try:
        _era, born = decode_birth_date(code)
        sex = Sex(int(_str(info, "sex")))
        as_of = datetime.fromisoformat(_str(body, "as_of"))
    except (BirthDateFormatError, ValueError) as exc:
        raise JlisProtocolError(f"J-LIS sent malformed 4 info: {exc}") from exc
    basic4 = Basic4Info(name=_str(info, "name"), birth_date=born, sex=sex,
                        address=_str(info, "address"), birth_date_code=code,
                        name_substitutes=_str(info, "name_substitutes"),
                        address_substitutes=_str(info, "address_substitutes"))
    return Basic4Answer(_str(body, "serial"), basic4, as_of)


def age_answer(body: Any) -> AgeAnswer:
    over = _field(body, "over")
    status = _str(body, "certificate_status")
    if over not in (True, False, None):
        raise JlisProtocolError("J-LIS sent a malformed age answer")
    if status not in _STATUSES:
        raise JlisProtocolError(f"J-LIS sent an unknown certificate_status {status!r}")
    return AgeAnswer(over, _STATUSES[status])


def metering(body: Any) -> Metering:
    checks = _field(body, "checks")
    yen = _field(body, "yen")
    if not isinstance(checks, dict) or not isinstance(yen, int):
        raise JlisProtocolError("J-LIS sent a malformed metering answer")
    return Metering(_str(body, "verifier_id"), {str(k): int(v) for k, v in checks.items()}, yen)


def _field(body: Any, name: str) -> Any:
    if not isinstance(body, dict) or name not in body:
        raise JlisProtocolError(f"J-LIS's answer lacks {name!r}")
    return body[name]


def _str(body: Any, name: str) -> str:
    value = _field(body, name)
    if not isinstance(value, str):
        raise JlisProtocolError(f"J-LIS's {name!r} is not a string")
    return value


def _optional_str(body: Any, name: str) -> str | None:
    value = _field(body, name)
    if value is not None and not isinstance(value, str):
        raise JlisProtocolError(f"J-LIS's {name!r} is neither a string nor null")
    return value


def _b64(body: Any, name: str) -> bytes:
    try:
        return base64.b64decode(_str(body, name), validate=True)
    except binascii.Error as exc:
        raise JlisProtocolError(f"J-LIS's {name!r} is not base64") from exc


def _hex(body: Any, name: str) -> bytes:
    try:
        return bytes.fromhex(_str(body, name))
    except ValueError as exc:
        raise JlisProtocolError(f"J-LIS's {name!r} is not hex") from exc
