"""The card side of vsmartcard's vpcd socket protocol: a virtual card in a PC/SC reader.

vpcd (the pcscd driver) listens; the virtual card connects. Every message is a 2-byte big-endian
length and a payload. A 1-byte payload is a control code: 0x00 power off, 0x01 power on,
0x02 reset (no answer) and 0x04 get ATR (answered with the ATR); any longer payload is a command
APDU answered with the response APDU. Closing the socket is pulling the card off the reader.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable

from trust.vcard.applet import JpkiApplet

DEFAULT_PORT = 35963  # vpcd's first reader
POWER_OFF, POWER_ON, RESET, GET_ATR = 0x00, 0x01, 0x02, 0x04


def connect(host: str, port: int, *, wait_seconds: float = 10.0) -> socket.socket:
    """Connect to vpcd, retrying while pcscd is still starting."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return socket.create_connection((host, port), timeout=5)
        except OSError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def serve(sock: socket.socket, applet: JpkiApplet,
          log: Callable[[str], None] | None = None) -> None:
    """Answer vpcd until it closes the connection."""
    sock.settimeout(None)
    while True:
        payload = _receive(sock)
        if payload is None:
            return
        answer = handle(applet, payload)
        if log is not None and len(payload) > 1 and answer is not None:
            log(f"> {masked(payload)}")
            log(f"< {answer.hex(' ').upper()}")
        if answer is not None:
            sock.sendall(struct.pack(">H", len(answer)) + answer)


def handle(applet: JpkiApplet, payload: bytes) -> bytes | None:
    """One vpcd message: a control code (answer only for GET ATR) or a command APDU."""
    if len(payload) != 1:
        return applet.process(payload)
    code = payload[0]
    if code == GET_ATR:
        return applet.atr
    if code in (POWER_OFF, POWER_ON, RESET):
        applet.power_on()  # every one of them clears the RAM state of the chip
    return None


def masked(apdu: bytes) -> str:
    """Hex of a command APDU with the PIN of a VERIFY (INS 20) shown as ``**`` per byte."""
    if len(apdu) > 5 and apdu[1] == 0x20:
        return apdu[:5].hex(" ").upper() + " **" * (len(apdu) - 5)
    return apdu.hex(" ").upper()


def _receive(sock: socket.socket) -> bytes | None:
    header = _exactly(sock, 2)
    if header is None:
        return None
    (length,) = struct.unpack(">H", header)
    return _exactly(sock, length) if length else b""


def _exactly(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data
