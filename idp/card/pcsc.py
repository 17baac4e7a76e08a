"""The one module that speaks PC/SC (through pyscard): reader listing, connect, transmit.

pyscard errors become card errors a person can act on: a card taken off the reader mid-operation
is :class:`CardRemovedError`, an unknown reader name :class:`NoReaderError`.
"""

from __future__ import annotations

import contextlib
from typing import Any

from smartcard.CardConnection import CardConnection as PyscardConnection
from smartcard.Exceptions import CardConnectionException, NoCardException, SmartcardException
from smartcard.System import readers as pyscard_readers

from idp.card.errors import CardRemovedError, NoCardError, NoReaderError


def reader_names() -> list[str]:
    """The readers PC/SC knows (empty when pcscd has none or is not running)."""
    try:
        return [str(reader) for reader in pyscard_readers()]
    except SmartcardException:
        return []


def _pick(name: str) -> Any:
    """The reader called ``name``, or the one reader whose name starts with it."""
    readers = {str(reader): reader for reader in _all_readers()}
    if name in readers:
        return readers[name]
    matches = [reader for label, reader in readers.items() if label.startswith(name)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(repr(label) for label in readers) or "none (is pcscd running?)"
    raise NoReaderError(f"no single reader named {name!r}; readers: {known}")


def _all_readers() -> list[Any]:
    try:
        return list(pyscard_readers())
    except SmartcardException as error:
        raise NoReaderError(f"PC/SC is not available: {error}") from error


class PcscConnection:
    """A card in a PC/SC reader, connected with T=1 or T=0 (whichever the card offers)."""

    def __init__(self, reader_name: str) -> None:
        reader = _pick(reader_name)
        self.reader_name = str(reader)
        self._connection = reader.createConnection()
        try:
            self._connection.connect(PyscardConnection.T0_protocol
                                     | PyscardConnection.T1_protocol)
        except NoCardException as error:
            raise NoCardError(f"no card on {self.reader_name}") from error
        except CardConnectionException as error:
            raise NoCardError(f"cannot connect to the card on {self.reader_name}: "
                              f"{error}") from error

    @property
    def atr(self) -> bytes:
        return bytes(self._connection.getATR())

    def transmit(self, apdu: bytes) -> bytes:
        try:
            data, sw1, sw2 = self._connection.transmit(list(apdu))
        except (CardConnectionException, NoCardException) as error:
            raise CardRemovedError(
                f"the card on {self.reader_name} was removed or stopped answering; put it back "
                "and try again") from error
        return bytes(data) + bytes([sw1, sw2])

    def close(self) -> None:
        with contextlib.suppress(SmartcardException):  # the card may already be gone
            self._connection.disconnect()
