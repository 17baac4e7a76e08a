"""Command APDUs of the JPKI application (ISO/IEC 7816-4 short APDUs).

The facts below are the ones five independent open-source readers agree on (jpki/myna, OpenSC
card-jpki, jpki-rs, soltia48/myna-card, pyjpki); ``docs/card.md`` has the table.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

# JPKI application identifier (公的個人認証 AP).
JPKI_AID = bytes.fromhex("D392F000260100000001")

# Reads are chunked: a short READ BINARY returns at most 256 bytes (Le = 00 means 256).
MAX_CHUNK = 256
# A DER certificate's length is known from its first 4 bytes (30 82 hi lo).
DER_HEADER_LENGTH = 4


class EF(enum.IntEnum):
    """Elementary files of the JPKI application."""

    SIGN_CERT = 0x0001  # 署名用電子証明書: readable only after the signing PIN
    SIGN_CA_CERT = 0x0002
    TOKEN = 0x0006  # token label, space padded
    AUTH_CERT = 0x000A  # 利用者証明用電子証明書: free on a card, PIN needed on a phone
    AUTH_CA_CERT = 0x000B
    AUTH_KEY = 0x0017
    AUTH_PIN = 0x0018  # 4 digits, 3 tries
    SIGN_KEY = 0x001A
    SIGN_PIN = 0x001B  # 6-16 upper-case alphanumerics, 5 tries


TOKEN_LENGTH = 32


class Ins(enum.IntEnum):
    SELECT = 0xA4
    READ_BINARY = 0xB0
    VERIFY = 0x20
    COMPUTE_DIGITAL_SIGNATURE = 0x2A


@dataclass(frozen=True)
class Command:
    """One short command APDU; ``le`` None means no Le field, 0 means 256."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None
    secret: bool = False  # the data is a PIN: never shown in a trace

    def to_bytes(self) -> bytes:
        out = bytes([self.cla, self.ins, self.p1, self.p2])
        if self.data:
            out += bytes([len(self.data)]) + self.data
        if self.le is not None:
            out += bytes([self.le])
        return out

    def masked(self) -> str:
        """Hex of the APDU with PIN bytes replaced by ``**`` (for --trace)."""
        if not self.secret:
            return self.to_bytes().hex(" ").upper()
        head = bytes([self.cla, self.ins, self.p1, self.p2, len(self.data)]).hex(" ").upper()
        return head + " **" * len(self.data)


def select_jpki() -> Command:
    """SELECT by DF name, no response data: 00 A4 04 0C 0A <AID>."""
    return Command(0x00, Ins.SELECT, 0x04, 0x0C, JPKI_AID)


def select_ef(ef: EF | int) -> Command:
    """SELECT EF by file identifier, no response data: 00 A4 02 0C 02 <id>."""
    return Command(0x00, Ins.SELECT, 0x02, 0x0C, int(ef).to_bytes(2, "big"))


def read_binary(offset: int, length: int) -> Command:
    """READ BINARY of the current EF: 00 B0 <off-hi> <off-lo> <Le> (15-bit offset)."""
    if not 0 <= offset <= 0x7FFF or not 1 <= length <= MAX_CHUNK:
        raise ValueError(f"READ BINARY offset {offset} / length {length} out of range")
    return Command(0x00, Ins.READ_BINARY, offset >> 8, offset & 0xFF, le=length % MAX_CHUNK)


def verify(pin: str) -> Command:
    """VERIFY the current PIN EF: 00 20 00 80 <Lc> <PIN ASCII>."""
    return Command(0x00, Ins.VERIFY, 0x00, 0x80, pin.encode("ascii"), secret=True)


def pin_status() -> Command:
    """VERIFY without data: the card answers 63Cx with the tries left."""
    return Command(0x00, Ins.VERIFY, 0x00, 0x80)


def compute_signature(digest_info: bytes) -> Command:
    """COMPUTE DIGITAL SIGNATURE with the current key EF: 80 2A 00 80 <Lc> <DigestInfo> 00.

    The card applies PKCS#1 v1.5 padding itself (RFC 8017 §9.2 EMSA-PKCS1-v1_5 from step 3).
    """
    return Command(0x80, Ins.COMPUTE_DIGITAL_SIGNATURE, 0x00, 0x80, digest_info, le=0)
