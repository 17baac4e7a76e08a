"""The virtual card behind the ``CardConnection`` protocol, in-process (``--card-file``)."""

from __future__ import annotations

from pathlib import Path

from trust.vcard.applet import JpkiApplet


class VirtualCardConnection:
    """A virtual card on a reader that never drops it: APDUs go straight to the applet."""

    def __init__(self, path: Path) -> None:
        self.applet = JpkiApplet(path)

    def transmit(self, apdu: bytes) -> bytes:
        return self.applet.process(apdu)

    def close(self) -> None:
        self.applet.power_off()


def open_card_file(path: str) -> VirtualCardConnection:
    """The ``idp.card_backends`` entry point ``file``: a card file as a connected card."""
    card_path = Path(path)
    if not card_path.is_file():
        raise FileNotFoundError(f"no card file at {path}")
    return VirtualCardConnection(card_path)
