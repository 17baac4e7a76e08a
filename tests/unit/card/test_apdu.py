"""Command builders are byte-exact to the public JPKI description; status words parse to errors."""

from __future__ import annotations

import pytest

from idp.card import apdu
from idp.card.apdu import EF
from idp.card.connection import Channel
from idp.card.digest import digest_info_sha256
from idp.card.errors import (
    NoSuchFileError,
    PinBlockedError,
    SecurityStatusError,
    UnexpectedStatusError,
    WrongPinError,
)
from idp.card.status import SW, Response


@pytest.mark.parametrize(("command", "wire"), [
    (apdu.select_jpki(), "00A4040C0AD392F000260100000001"),
    (apdu.select_ef(EF.SIGN_CERT), "00A4020C020001"),
    (apdu.select_ef(EF.AUTH_PIN), "00A4020C020018"),
    (apdu.read_binary(0, 4), "00B0000004"),
    (apdu.read_binary(0x0104, 256), "00B0010400"),
    (apdu.verify("1234"), "002000800431323334"),
    (apdu.pin_status(), "00200080"),
    (apdu.compute_signature(b"\x01\x02"), "802A0080020102" + "00"),
])
def test_command_builders_are_byte_exact(command: apdu.Command, wire: str) -> None:
    assert command.to_bytes().hex().upper() == wire


def test_read_binary_refuses_a_chunk_over_256_bytes() -> None:
    with pytest.raises(ValueError, match="out of range"):
        apdu.read_binary(0, 257)


def test_a_verify_command_is_traced_with_its_pin_masked() -> None:
    assert apdu.verify("ABC123").masked() == "00 20 00 80 06 ** ** ** ** ** **"
    assert apdu.pin_status().masked() == "00 20 00 80"


def test_digest_info_is_the_rfc8017_sha256_prefix_and_hash() -> None:
    info = digest_info_sha256(b"abc")
    assert info.hex().startswith("3031300d060960864801650304020105000420")
    assert info.hex().endswith("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    assert len(info) == 51


@pytest.mark.parametrize(("sw", "error"), [
    (0x63C2, WrongPinError), (0x63C0, PinBlockedError), (SW.PIN_BLOCKED, PinBlockedError),
    (SW.FILE_NOT_FOUND, NoSuchFileError), (SW.SECURITY_STATUS_NOT_SATISFIED, SecurityStatusError),
    (SW.WRONG_LENGTH, UnexpectedStatusError), (SW.WRONG_P1P2, UnexpectedStatusError),
])
def test_status_words_become_typed_errors(sw: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        Response(b"", sw).check("test")


def test_wrong_pin_tells_the_tries_left() -> None:
    with pytest.raises(WrongPinError, match="1 try left") as caught:
        Response(b"", 0x63C1).check("the auth PIN")
    assert caught.value.tries_left == 1


def test_a_response_splits_data_and_status_word() -> None:
    response = Response.parse(bytes.fromhex("3082039000"))
    assert (response.data, response.sw, response.ok) == (bytes.fromhex("308203"), SW.OK, True)


class _T0Card:
    """A T=0 card: answers 61xx and waits for GET RESPONSE."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def transmit(self, command: bytes) -> bytes:
        self.sent.append(command.hex().upper())
        if command[1] == 0xC0:
            return b"\xAA" * command[4] + b"\x90\x00"
        return b"\x61\x03"

    def close(self) -> None:
        pass


def test_t0_response_chaining_fetches_the_data_with_get_response() -> None:
    card = _T0Card()
    response = Channel(card).transceive(apdu.compute_signature(b"\x01"))
    assert response.data == b"\xAA\xAA\xAA"
    assert card.sent[-1] == "00C0000003"
