"""Record APDU transcripts from the virtual card (tests/vectors/card/*.txt).

Run: ``.venv/bin/python -m tests.vectors.card.make_transcripts``. Each transcript is the exact
byte exchange of one client operation (``idp.card.jpki.JpkiCard``) with a fresh virtual card from
``tests.support.cards``; unit tests replay them against the client, so the client's bytes are
checked against what the card answers. Test PINs (ABC123 / 1234) appear in clear here on purpose.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from pathlib import Path

from idp.card.apdu import EF
from idp.card.connection import Channel
from idp.card.digest import digest_info_sha256
from idp.card.errors import CardError
from idp.card.jpki import JpkiCard
from idp.jpki.profile import Purpose
from tests.support.cards import AUTH_PIN, SIGN_PIN, make_card
from trust.vcard.connection import VirtualCardConnection

HERE = Path(__file__).parent
PROVENANCE = "# recorded from the virtual card by tests/vectors/card/make_transcripts.py\n"


class Recorder:
    def __init__(self, connection: VirtualCardConnection) -> None:
        self.connection = connection
        self.lines: list[str] = []

    def transmit(self, apdu: bytes) -> bytes:
        answer = self.connection.transmit(apdu)
        self.lines += [f"> {apdu.hex(' ').upper()}", f"< {answer.hex(' ').upper()}"]
        return answer

    def close(self) -> None:
        self.connection.close()


def record(name: str, description: str, operation: Callable[[JpkiCard], None],
           **card_options: bool) -> None:
    with tempfile.TemporaryDirectory() as temp:
        path = Path(temp) / "card.json"
        make_card(path, **card_options)
        recorder = Recorder(VirtualCardConnection(path))
        card = JpkiCard(Channel(recorder))
        card.select()
        operation(card)
    text = PROVENANCE + f"# {description}\n" + "\n".join(recorder.lines) + "\n"
    (HERE / f"{name}.txt").write_text(text, encoding="ascii")


def _info(card: JpkiCard) -> None:
    card.token()
    card.read_certificate(EF.AUTH_CERT)
    card.tries_left(Purpose.SIGN)
    card.tries_left(Purpose.AUTH)


def _countdown(card: JpkiCard) -> None:
    for _ in range(4):
        with contextlib.suppress(CardError):
            card.verify_pin(Purpose.AUTH, "9999")
    card.tries_left(Purpose.AUTH)


def _sign(card: JpkiCard) -> None:
    card.tries_left(Purpose.SIGN)
    card.verify_pin(Purpose.SIGN, SIGN_PIN)
    card.read_certificate(EF.SIGN_CERT)
    card.sign(Purpose.SIGN, digest_info_sha256(b"jpki-idp/1\ntranscript"))


def _phone(card: JpkiCard) -> None:
    card.token()
    with contextlib.suppress(CardError):
        card.read_certificate(EF.AUTH_CERT)
    card.verify_pin(Purpose.AUTH, AUTH_PIN)
    card.read_certificate(EF.AUTH_CERT)


if __name__ == "__main__":
    record("info", "card info: token, auth certificate (multi-chunk), PIN counters", _info)
    record("pin_countdown", "wrong auth PIN 9999 four times: 63C2, 63C1, 63C0, then 6984",
           _countdown)
    record("sign", "signing: counter, VERIFY, sign certificate, COMPUTE DIGITAL SIGNATURE", _sign)
    record("phone", "phone token: the auth certificate needs the auth PIN", _phone, phone=True)
