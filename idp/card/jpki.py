"""The JPKI application as a client sees it: select, read files, count and verify PINs, sign.

Each method is one short APDU sequence from the public description (``docs/card.md``); the
security status it builds up (verified PINs) lives on the card, not here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from idp.card import apdu
from idp.card.apdu import EF
from idp.card.connection import Channel
from idp.card.errors import InvalidPinFormatError, NoSuchFileError, UnexpectedStatusError
from idp.card.status import SW, error_for, is_counter
from idp.jpki.profile import Purpose

_PIN_FORMAT = {
    # 署名用パスワード: 6-16 upper-case letters and digits; 利用者証明用: 4 digits.
    Purpose.SIGN: (re.compile(r"[A-Z0-9]{6,16}"), "6 to 16 upper-case letters and digits"),
    Purpose.AUTH: (re.compile(r"[0-9]{4}"), "4 digits"),
}


@dataclass(frozen=True)
class KeyFiles:
    """The EFs that belong to one JPKI key pair."""

    certificate: EF
    ca_certificate: EF
    key: EF
    pin: EF


KEY_FILES = {
    Purpose.SIGN: KeyFiles(EF.SIGN_CERT, EF.SIGN_CA_CERT, EF.SIGN_KEY, EF.SIGN_PIN),
    Purpose.AUTH: KeyFiles(EF.AUTH_CERT, EF.AUTH_CA_CERT, EF.AUTH_KEY, EF.AUTH_PIN),
}


def check_pin_format(purpose: Purpose, pin: str) -> None:
    """Refuse a PIN the card could never accept before it costs a try."""
    pattern, description = _PIN_FORMAT[purpose]
    if not pattern.fullmatch(pin):
        raise InvalidPinFormatError(f"the {purpose.value} PIN is {description} (no try was spent)")


class JpkiCard:
    """Operations of the JPKI application over one channel."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def select(self) -> None:
        self.channel.transceive(apdu.select_jpki()).check("the JPKI application")

    def token(self) -> str:
        """The token label (JPKIAPICCTOKEN2 on a card, JPKIAPGPSETOKEN on a phone)."""
        self._select_ef(EF.TOKEN)
        raw = self.channel.transceive(apdu.read_binary(0, apdu.TOKEN_LENGTH)).check("the token")
        return raw.decode("ascii", errors="replace").rstrip(" \x00")

    def read_certificate(self, ef: EF) -> bytes:
        """A DER certificate: 4 bytes for its length, then chunks of at most 256 bytes."""
        self._select_ef(ef)
        what = f"certificate EF {ef:04X}"
        head = self.channel.transceive(apdu.read_binary(0, apdu.DER_HEADER_LENGTH)).check(what)
        total = der_length(head)
        data = bytearray(head)
        while len(data) < total:
            chunk = min(apdu.MAX_CHUNK, total - len(data))
            part = self.channel.transceive(apdu.read_binary(len(data), chunk)).check(what)
            if not part:
                raise UnexpectedStatusError(SW.END_OF_FILE, f"{what} (truncated)")
            data += part
        return bytes(data)

    def tries_left(self, purpose: Purpose) -> int:
        """PIN tries left, asked without spending one (VERIFY with no data → 63Cx)."""
        self._select_ef(KEY_FILES[purpose].pin)
        response = self.channel.transceive(apdu.pin_status())
        if is_counter(response.sw):
            return response.sw & 0x0F
        if response.sw == SW.PIN_BLOCKED:
            return 0
        raise error_for(response.sw, f"the {purpose.value} PIN status")

    def verify_pin(self, purpose: Purpose, pin: str) -> None:
        """VERIFY; raises WrongPinError (tries left) or PinBlockedError."""
        check_pin_format(purpose, pin)
        self._select_ef(KEY_FILES[purpose].pin)
        self.channel.transceive(apdu.verify(pin)).check(f"the {purpose.value} PIN")

    def sign(self, purpose: Purpose, digest_info: bytes) -> bytes:
        """COMPUTE DIGITAL SIGNATURE with the key of ``purpose`` (its PIN verified before)."""
        self._select_ef(KEY_FILES[purpose].key)
        command = apdu.compute_signature(digest_info)
        return self.channel.transceive(command).check(f"signing with the {purpose.value} key")

    def _select_ef(self, ef: EF) -> None:
        self.channel.transceive(apdu.select_ef(ef)).check(f"EF {ef:04X}")


def der_length(head: bytes) -> int:
    """Total length of a DER SEQUENCE from its first bytes (X.690 §8.1.3)."""
    if len(head) < 2 or head[0] != 0x30:
        raise NoSuchFileError("the file does not hold a certificate")
    first = head[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 2 or len(head) < 2 + count:
        raise NoSuchFileError("the file does not hold a certificate of a size a card can store")
    return 2 + count + int.from_bytes(head[2:2 + count], "big")
