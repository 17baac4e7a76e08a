"""The JPKI application as a state machine over a card file (``trust.cardfile``).

Same APDUs and status words as the public description in ``docs/card.md``. State that a real
chip keeps in RAM (selected application and EF, verified PINs) lives here and is lost on power
off or reset; PIN counters are the chip's EEPROM, so they live in the card file and are updated
read-modify-write under ``cardfile.locked``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from idp.card.apdu import EF, JPKI_AID, Ins
from idp.card.status import SW
from idp.jpki.profile import TOKEN_PHONE, Purpose
from trust import cardfile
from trust.vcard.files import Slot, binary_files, pkcs1_sign

# My Number Card ATR (T=1, no historical bytes), as listed for it in pcsc-tools' smartcard_list.
ATR = bytes.fromhex("3BE000FF8131FE4514")

_PIN_EF: dict[int, Purpose] = {EF.SIGN_PIN: Purpose.SIGN, EF.AUTH_PIN: Purpose.AUTH}
_KEY_EF: dict[int, Purpose] = {EF.SIGN_KEY: Purpose.SIGN, EF.AUTH_KEY: Purpose.AUTH}


@dataclass(frozen=True)
class Apdu:
    """A parsed short command APDU (ISO/IEC 7816-3 §12.1.3 cases 1-4)."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes
    le: int | None

    @classmethod
    def parse(cls, raw: bytes) -> Apdu | None:
        if len(raw) < 4:
            return None
        cla, ins, p1, p2 = raw[:4]
        body = raw[4:]
        if not body:
            return cls(cla, ins, p1, p2, b"", None)
        if len(body) == 1:
            return cls(cla, ins, p1, p2, b"", body[0] or 256)
        lc = body[0]
        if lc and len(body) == 1 + lc:
            return cls(cla, ins, p1, p2, body[1:], None)
        if lc and len(body) == 2 + lc:
            return cls(cla, ins, p1, p2, body[1:-1], body[-1] or 256)
        return None


class JpkiApplet:
    """Answers command APDUs exactly like the JPKI application of a My Number Card."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.power_on()

    def power_on(self) -> None:
        """Power on or reset: nothing selected, no PIN verified; re-read the card file."""
        self.card = cardfile.load(self.path)
        self.files = binary_files(self.card)
        self.app_selected = False
        self.current: int | None = None
        self.verified: set[Purpose] = set()

    power_off = power_on

    @property
    def atr(self) -> bytes:
        return ATR

    def process(self, raw: bytes) -> bytes:
        command = Apdu.parse(raw)
        if command is None:
            return _sw(SW.WRONG_LENGTH)
        if command.cla not in (0x00, 0x80):
            return _sw(SW.CLA_NOT_SUPPORTED)
        handlers: dict[int, Callable[[Apdu], bytes]] = {
            Ins.SELECT: self._select, Ins.READ_BINARY: self._read_binary,
            Ins.VERIFY: self._verify, Ins.COMPUTE_DIGITAL_SIGNATURE: self._sign}
        handler = handlers.get(command.ins)
        if handler is None:
            return _sw(SW.INS_NOT_SUPPORTED)
        return handler(command)

    def _select(self, c: Apdu) -> bytes:
        if c.p2 != 0x0C or c.p1 not in (0x02, 0x04):  # only "no response data" selections
            return _sw(SW.WRONG_P1P2)
        if c.le is not None or not c.data:
            return _sw(SW.WRONG_LENGTH)
        if c.p1 == 0x04:
            if c.data != JPKI_AID:
                return _sw(SW.FILE_NOT_FOUND)
            self.app_selected, self.current, self.verified = True, None, set()
            return _sw(SW.OK)
        if len(c.data) != 2:
            return _sw(SW.WRONG_LENGTH)
        ef = int.from_bytes(c.data, "big")
        if not self.app_selected or not self._exists(ef):
            return _sw(SW.FILE_NOT_FOUND)
        self.current = ef
        return _sw(SW.OK)

    def _read_binary(self, c: Apdu) -> bytes:
        if c.data or c.le is None:
            return _sw(SW.WRONG_LENGTH)
        if c.p1 & 0x80:  # short EF identifier addressing: not offered by this application
            return _sw(SW.WRONG_P1P2)
        if self.current is None:
            return _sw(SW.NO_CURRENT_EF)
        content = self.files.get(self.current)
        if content is None:
            return _sw(SW.INCOMPATIBLE_FILE)
        if not self._readable(self.current):
            return _sw(SW.SECURITY_STATUS_NOT_SATISFIED)
        offset = (c.p1 << 8) | c.p2
        if offset >= len(content):
            return _sw(SW.WRONG_OFFSET)
        part = content[offset:offset + c.le]
        return part + _sw(SW.OK if len(part) == c.le else SW.END_OF_FILE)

    def _verify(self, c: Apdu) -> bytes:
        if c.p1 != 0x00 or c.p2 != 0x80:
            return _sw(SW.WRONG_P1P2)
        if c.le is not None:
            return _sw(SW.WRONG_LENGTH)
        purpose = _PIN_EF.get(self.current or -1)
        if purpose is None:
            return _sw(SW.NO_CURRENT_EF)
        with cardfile.locked(self.path):
            card = cardfile.load(self.path)
            slot = _slot(card, purpose)
            if slot.tries_left == 0:
                return _sw(SW.PIN_BLOCKED)
            if not c.data:  # asks for the counter, spends nothing
                return _sw(SW.counter(slot.tries_left))
            if c.data == slot.pin.encode("ascii"):
                tries = slot.max_tries
                self.verified.add(purpose)
            else:
                tries = slot.tries_left - 1
                self.verified.discard(purpose)
            if tries != slot.tries_left:
                cardfile.save(self.path, _with_slot(card, purpose, slot.with_tries(tries)))
        return _sw(SW.OK if purpose in self.verified else SW.counter(tries))

    def _sign(self, c: Apdu) -> bytes:
        if c.p1 != 0x00 or c.p2 != 0x80:
            return _sw(SW.WRONG_P1P2)
        if not c.data or c.le is None:
            return _sw(SW.WRONG_LENGTH)
        purpose = _KEY_EF.get(self.current or -1)
        if purpose is None:
            return _sw(SW.NO_CURRENT_EF)
        if purpose not in self.verified:
            return _sw(SW.SECURITY_STATUS_NOT_SATISFIED)
        signature = pkcs1_sign(_slot(self.card, purpose), c.data)
        if signature is None:  # DigestInfo too long for the 2048-bit modulus
            return _sw(SW.WRONG_LENGTH)
        return signature + _sw(SW.OK)

    def _exists(self, ef: int) -> bool:
        if ef in self.files:
            return True
        purpose = _PIN_EF.get(ef) or _KEY_EF.get(ef)
        return purpose is not None and getattr(self.card, purpose.value) is not None

    def _readable(self, ef: int) -> bool:
        """Sign certificate after the signing PIN; on a phone, auth certificate after its PIN."""
        if ef == EF.SIGN_CERT:
            return Purpose.SIGN in self.verified
        if ef == EF.AUTH_CERT and self.card.token == TOKEN_PHONE:
            return Purpose.AUTH in self.verified
        return True


def _slot(card: cardfile.CardFile, purpose: Purpose) -> Slot:
    slot: Slot | None = getattr(card, purpose.value)
    if slot is None:
        raise LookupError(f"the card has no {purpose.value} key")
    return slot


def _with_slot(card: cardfile.CardFile, purpose: Purpose, slot: Slot) -> cardfile.CardFile:
    if purpose is Purpose.SIGN:
        return replace(card, sign=slot)
    return replace(card, auth=slot)


def _sw(sw: int) -> bytes:
    return sw.to_bytes(2, "big")
