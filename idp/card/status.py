"""Status words and response APDUs (ISO/IEC 7816-4 §5.1.3) as the JPKI application uses them."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from idp.card.errors import (
    CardError,
    NoSuchFileError,
    PinBlockedError,
    SecurityStatusError,
    UnexpectedStatusError,
    WrongPinError,
)


class SW(enum.IntEnum):
    """The status words this client and the virtual card speak."""

    OK = 0x9000
    END_OF_FILE = 0x6282  # fewer bytes than Le before the end of the EF
    WRONG_LENGTH = 0x6700
    INCOMPATIBLE_FILE = 0x6981  # e.g. READ BINARY of a PIN or key EF
    SECURITY_STATUS_NOT_SATISFIED = 0x6982
    PIN_BLOCKED = 0x6984  # reference data not usable: the PIN has no tries left
    NO_CURRENT_EF = 0x6986
    FILE_NOT_FOUND = 0x6A82
    WRONG_P1P2 = 0x6A86
    WRONG_OFFSET = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00

    @staticmethod
    def counter(tries_left: int) -> int:
        """63Cx: verification failed (or asked), x tries left (§5.1.3, table 6)."""
        return 0x63C0 | tries_left


def is_counter(sw: int) -> bool:
    return sw & 0xFFF0 == 0x63C0


@dataclass(frozen=True)
class Response:
    """A response APDU: data and the status word."""

    data: bytes
    sw: int

    @classmethod
    def parse(cls, raw: bytes) -> Response:
        if len(raw) < 2:
            raise UnexpectedStatusError(0, f"a command (response of {len(raw)} bytes)")
        return cls(raw[:-2], int.from_bytes(raw[-2:], "big"))

    @property
    def ok(self) -> bool:
        return self.sw in (SW.OK, SW.END_OF_FILE)

    def check(self, what: str) -> bytes:
        """The data, or the typed error the status word stands for."""
        if self.ok:
            return self.data
        raise error_for(self.sw, what)

    def sw_text(self) -> str:
        return f"{self.sw:04X}"


def error_for(sw: int, what: str) -> CardError:
    if is_counter(sw):
        return PinBlockedError() if sw & 0x0F == 0 else WrongPinError(sw & 0x0F)
    if sw == SW.PIN_BLOCKED:
        return PinBlockedError()
    if sw == SW.FILE_NOT_FOUND:
        return NoSuchFileError(f"the card has no file for {what}")
    if sw == SW.SECURITY_STATUS_NOT_SATISFIED:
        return SecurityStatusError(f"{what} needs the PIN verified first")
    return UnexpectedStatusError(sw, what)
