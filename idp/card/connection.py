"""The I/O boundary: a card that takes command APDUs and answers response APDUs.

Real readers (``idp.card.pcsc``) and the virtual card (``trust.vcard``) implement
:class:`CardConnection`. :func:`transceive` adds what T=0 needs on top (ISO/IEC 7816-3 §10.3.4:
61xx → GET RESPONSE, 6Cxx → repeat with the right Le) and the ``--trace`` transcript.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from idp.card.apdu import Command
from idp.card.status import Response

Tracer = Callable[[str], None]


class CardConnection(Protocol):
    """A powered card in a reader, ready for APDUs."""

    def transmit(self, apdu: bytes) -> bytes:
        """Send one command APDU, return the response APDU (data + SW1 SW2).

        Raises :class:`idp.card.errors.CardRemovedError` when the card is gone.
        """
        ...

    def close(self) -> None: ...


class Channel:
    """A connection with T=0 response chaining and an optional APDU transcript."""

    def __init__(self, connection: CardConnection, trace: Tracer | None = None) -> None:
        self.connection = connection
        self._trace = trace

    def transceive(self, command: Command) -> Response:
        response = self._send(command)
        if response.sw >> 8 == 0x6C:  # wrong Le: the card says how many bytes it has
            response = self._send(_with_le(command, response.sw & 0xFF))
        data = response.data
        while response.sw >> 8 == 0x61:  # more data waiting: GET RESPONSE
            response = self._send(Command(0x00, 0xC0, 0x00, 0x00, le=response.sw & 0xFF))
            data += response.data
        return Response(data, response.sw)

    def close(self) -> None:
        self.connection.close()

    def _send(self, command: Command) -> Response:
        if self._trace:
            self._trace(f"> {command.masked()}")
        response = Response.parse(self.connection.transmit(command.to_bytes()))
        if self._trace:
            data = f"{response.data.hex(' ').upper()} " if response.data else ""
            self._trace(f"< {data}{response.sw_text()}")
        return response


def _with_le(command: Command, le: int) -> Command:
    return Command(command.cla, command.ins, command.p1, command.p2, command.data, le,
                   command.secret)
