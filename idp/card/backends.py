"""Where a card comes from: a PC/SC reader, or a virtual card through a plugin.

The virtual card lives under ``trust/`` (which ``idp`` never imports); it registers a factory
``path -> CardConnection`` as the ``file`` entry point of the ``idp.card_backends`` group.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from idp.card.connection import CardConnection
from idp.card.errors import CardError, NoReaderError

BACKEND_GROUP = "idp.card_backends"


def open_card(*, card_file: str | None, reader: str | None) -> CardConnection:
    """Exactly one of ``card_file`` / ``reader``: a connected card."""
    if reader is not None:
        from idp.card.pcsc import PcscConnection  # pyscard only when a reader is asked for

        return PcscConnection(reader)
    if card_file is None:
        raise NoReaderError("say which card: --card-file FILE or --reader NAME")
    found = entry_points(group=BACKEND_GROUP, name="file")
    if not found:
        raise NoReaderError("virtual cards are not installed (no idp.card_backends 'file')")
    factory = next(iter(found)).load()
    try:
        connection: CardConnection = factory(card_file)
    except (OSError, ValueError) as error:
        raise CardError(f"cannot open the card file: {error}") from error
    return connection
