"""The virtual card answers like the JPKI application: security status, lengths, P1/P2, files."""

from __future__ import annotations

from pathlib import Path

import pytest

from idp.card.digest import digest_info_sha256
from tests.support.cards import make_card
from trust import cardfile
from trust.vcard.applet import ATR, JpkiApplet
from trust.vcard.vpcd import GET_ATR, POWER_OFF, handle

SELECT_JPKI = "00A4040C0AD392F000260100000001"


def _send(applet: JpkiApplet, *hex_apdus: str) -> str:
    """Send APDUs, return the last response as upper-case hex."""
    answer = b""
    for text in hex_apdus:
        answer = applet.process(bytes.fromhex(text))
    return answer.hex().upper()


@pytest.fixture
def card_path(tmp_path: Path) -> Path:
    return make_card(tmp_path / "card.json").path


@pytest.fixture
def applet(card_path: Path) -> JpkiApplet:
    return JpkiApplet(card_path)


def test_the_sign_certificate_is_unreadable_before_the_signing_pin(applet: JpkiApplet) -> None:
    assert _send(applet, SELECT_JPKI, "00A4020C020001", "00B0000004") == "6982"
    _send(applet, "00A4020C02001B", "0020008006414243313233")
    assert _send(applet, "00A4020C020001", "00B0000004").startswith("3082")


def test_the_auth_certificate_is_free_on_a_card(applet: JpkiApplet) -> None:
    assert _send(applet, SELECT_JPKI, "00A4020C02000A", "00B0000004").endswith("9000")


def test_a_phone_token_puts_the_auth_certificate_behind_the_auth_pin(tmp_path: Path) -> None:
    phone = JpkiApplet(make_card(tmp_path / "phone.json", phone=True).path)
    assert _send(phone, SELECT_JPKI, "00A4020C020006", "00B0000020")[:30] == \
        b"JPKIAPGPSETOKEN".hex().upper()
    assert _send(phone, "00A4020C02000A", "00B0000004") == "6982"
    _send(phone, "00A4020C020018", "002000800431323334")
    assert _send(phone, "00A4020C02000A", "00B0000004").endswith("9000")


@pytest.mark.parametrize(("apdu", "sw"), [
    ("00A4020C0300010A", "6700"),  # EF id of three bytes
    ("00A4020C02", "6700"),  # Lc without data
    ("00A4000C020001", "6A86"),  # select by a P1 the application does not offer
    ("00A40200020001", "6A86"),  # select asking for an FCI
    ("00A4020C020099", "6A82"),  # no such EF
    ("00B08000 04".replace(" ", ""), "6A86"),  # short EF addressing
    ("00200081", "6A86"),  # VERIFY of another reference
    ("00CA000000", "6D00"),  # unsupported instruction
    ("10A4040C0AD392F000260100000001", "6E00"),  # unsupported class
])
def test_malformed_commands_get_iso_status_words(applet: JpkiApplet, apdu: str, sw: str) -> None:
    assert _send(applet, SELECT_JPKI, apdu) == sw


def test_efs_are_not_found_before_the_application_is_selected(applet: JpkiApplet) -> None:
    assert _send(applet, "00A4020C02000A") == "6A82"
    assert _send(applet, "00A4040C0AD392F000260100000002") == "6A82"


def test_pin_counter_counts_down_persists_and_blocks(applet: JpkiApplet, card_path: Path) -> None:
    _send(applet, SELECT_JPKI, "00A4020C020018")
    answers = [_send(applet, "002000800439393939") for _ in range(4)]
    assert answers == ["63C2", "63C1", "63C0", "6984"]
    assert _send(applet, "002000800431323334") == "6984"  # even the right PIN: blocked
    assert _send(applet, "00200080") == "6984"
    saved = cardfile.load(card_path).auth
    assert saved is not None
    assert saved.tries_left == 0


def test_a_right_pin_resets_the_counter_in_the_card_file(card_path: Path) -> None:
    applet = JpkiApplet(card_path)
    _send(applet, SELECT_JPKI, "00A4020C02001B", "00200080065A5A5A5A5A5A")
    assert _send(applet, "00200080") == "63C4"
    assert _send(applet, "0020008006414243313233") == "9000"
    assert _send(JpkiApplet(card_path), SELECT_JPKI, "00A4020C02001B", "00200080") == "63C5"


def test_signing_needs_the_key_pin_and_returns_256_bytes(applet: JpkiApplet) -> None:
    digest_info = digest_info_sha256(b"x").hex().upper()
    sign = f"802A0080{len(digest_info) // 2:02X}{digest_info}00"
    assert _send(applet, SELECT_JPKI, "00A4020C020017", sign) == "6982"
    _send(applet, "00A4020C020018", "002000800431323334")
    answer = _send(applet, "00A4020C020017", sign)
    assert answer.endswith("9000")
    assert len(answer) == (256 + 2) * 2
    assert _send(applet, "00A4020C020017", f"802A0080{digest_info[:2]}") == "6700"


def test_power_off_clears_the_security_status(applet: JpkiApplet) -> None:
    _send(applet, SELECT_JPKI, "00A4020C02001B", "0020008006414243313233")
    assert handle(applet, bytes([POWER_OFF])) is None
    assert _send(applet, SELECT_JPKI, "00A4020C020001", "00B0000004") == "6982"
    assert handle(applet, bytes([GET_ATR])) == ATR


def test_a_person_under_15_has_no_signing_files(tmp_path: Path) -> None:
    minor = JpkiApplet(make_card(tmp_path / "minor.json", with_sign=False).path)
    assert _send(minor, SELECT_JPKI, "00A4020C020001") == "6A82"
    assert _send(minor, "00A4020C02001B") == "6A82"
