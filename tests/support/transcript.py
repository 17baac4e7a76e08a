"""Replay of a recorded APDU transcript as a CardConnection (tests/vectors/card/*.txt)."""

from __future__ import annotations

from pathlib import Path

VECTORS = Path(__file__).parent.parent / "vectors" / "card"


class ReplayConnection:
    """Answers each expected command with the recorded response; any other byte fails."""

    def __init__(self, name: str) -> None:
        lines = [line for line in (VECTORS / f"{name}.txt").read_text().splitlines()
                 if line and not line.startswith("#")]
        self.exchanges = [(bytes.fromhex(sent[2:]), bytes.fromhex(received[2:]))
                          for sent, received in zip(lines[::2], lines[1::2], strict=True)]
        self.position = 0

    def transmit(self, apdu: bytes) -> bytes:
        expected, answer = self.exchanges[self.position]
        assert apdu.hex(" ") == expected.hex(" "), f"exchange {self.position}"
        self.position += 1
        return answer

    def close(self) -> None:
        pass

    @property
    def finished(self) -> bool:
        return self.position == len(self.exchanges)

    def responses_to(self, command: bytes) -> list[bytes]:
        return [answer for sent, answer in self.exchanges if sent == command]
