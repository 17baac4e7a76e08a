"""Writing a resident's virtual card file after issue or a life event (format: trust/cardfile.py).

The virtual card updates PIN counters in the same file, so every write is a read-modify-write under
``cardfile.locked``. A slot whose key pair was re-issued gets a fresh counter; a slot whose key did
not change keeps the counter the card left there. PINs are kept across re-issue unless new ones are
given (at the municipal counter the holder may keep them).
"""

from __future__ import annotations

import secrets
import string
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from idp.jpki.profile import TOKEN_CARD, TOKEN_PHONE, Medium, Purpose
from trust import cardfile
from trust.jlis_sim.errors import BadRequestError
from trust.jlis_sim.issuance import Issued

MAX_TRIES = {Purpose.SIGN: 5, Purpose.AUTH: 3}
TOKENS = {Medium.CARD: TOKEN_CARD, Medium.PHONE: TOKEN_PHONE}
_SIGN_PIN_ALPHABET = string.ascii_uppercase + string.digits


def new_pin(purpose: Purpose) -> str:
    """Sign: 6–16 upper-case alphanumerics (here 8); auth: 4 digits."""
    if purpose is Purpose.SIGN:
        return "".join(secrets.choice(_SIGN_PIN_ALPHABET) for _ in range(8))
    return "".join(secrets.choice(string.digits) for _ in range(4))


def check_pin(purpose: Purpose, pin: str) -> str:
    if purpose is Purpose.SIGN:
        ok = 6 <= len(pin) <= 16 and all(c in _SIGN_PIN_ALPHABET for c in pin)
        rule = "6 to 16 upper-case letters and digits"
    else:
        ok = len(pin) == 4 and pin.isascii() and pin.isdigit()
        rule = "4 digits"
    if not ok:
        raise BadRequestError(f"the {purpose.value} PIN must be {rule}")
    return pin


def write(path: Path, person_id: str, medium: Medium, issued: dict[Purpose, Issued],
          pins: dict[Purpose, str | None], *, fresh: bool = False) -> cardfile.CardFile:
    """Put re-issued slots into the card at ``path`` (a new chip when ``fresh``); keep the rest."""
    with cardfile.locked(path):
        old = None if fresh or not path.exists() else cardfile.load(path)
        slots = {Purpose.SIGN: old.sign if old else None, Purpose.AUTH: old.auth if old else None}
        for purpose, item in issued.items():
            previous = slots[purpose]
            pin = pins.get(purpose) or (previous.pin if previous else None) or new_pin(purpose)
            slots[purpose] = cardfile.KeySlot(
                certificate=item.certificate.public_bytes(serialization.Encoding.DER),
                ca_certificate=item.ca_certificate.public_bytes(serialization.Encoding.DER),
                private_key=item.key_pem, pin=pin,
                tries_left=MAX_TRIES[purpose], max_tries=MAX_TRIES[purpose])
        card = cardfile.CardFile(person_id=person_id, token=TOKENS[medium],
                                 sign=slots[Purpose.SIGN], auth=slots[Purpose.AUTH])
        cardfile.save(path, card)
        return card


def read(path: Path) -> cardfile.CardFile | None:
    with cardfile.locked(path):
        return cardfile.load(path) if path.exists() else None
