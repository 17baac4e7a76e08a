"""The virtual card file: the chip's state as the simulator writes it and the virtual card runs it.

One JSON document per card (``format: jpki-virtual-card/1``), documented in ``docs/card.md``:

```
{"format": "jpki-virtual-card/1", "person_id": "...", "token": "JPKIAPICCTOKEN2",
 "sign": {"certificate": b64 DER, "ca_certificate": b64 DER, "private_key": PEM (PKCS#8),
          "pin": "ABC123", "tries_left": 5, "max_tries": 5} | null,
 "auth": {... "pin": "1234", "tries_left": 3, "max_tries": 3}}
```
``sign`` is null for a person under 15 (no signing certificate). PINs are stored as the chip would
hold them: this file *is* the chip, so it is as secret as a card in a drawer. Writes are atomic
(temp file + rename) under an advisory lock, because the simulator (life events) and the virtual
card (PIN counters) both write it.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

FORMAT = "jpki-virtual-card/1"


@dataclass(frozen=True)
class KeySlot:
    """One JPKI key pair on the chip: certificate, CA certificate, key, PIN and its counter."""

    certificate: bytes  # DER
    ca_certificate: bytes  # DER
    private_key: bytes  # PEM, PKCS#8, unencrypted (the chip's secret)
    pin: str
    tries_left: int
    max_tries: int

    def with_tries(self, tries_left: int) -> KeySlot:
        return replace(self, tries_left=tries_left)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["certificate"] = base64.b64encode(self.certificate).decode()
        data["ca_certificate"] = base64.b64encode(self.ca_certificate).decode()
        data["private_key"] = self.private_key.decode()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeySlot:
        return cls(
            certificate=base64.b64decode(data["certificate"]),
            ca_certificate=base64.b64decode(data["ca_certificate"]),
            private_key=data["private_key"].encode(),
            pin=data["pin"], tries_left=int(data["tries_left"]), max_tries=int(data["max_tries"]),
        )


@dataclass(frozen=True)
class CardFile:
    person_id: str
    token: str  # JPKIAPICCTOKEN2 (card) or JPKIAPGPSETOKEN (phone)
    sign: KeySlot | None
    auth: KeySlot | None

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "person_id": self.person_id, "token": self.token,
                "sign": self.sign.to_json() if self.sign else None,
                "auth": self.auth.to_json() if self.auth else None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CardFile:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a virtual card file (format {data.get('format')!r})")
        return cls(person_id=data["person_id"], token=data["token"],
                   sign=KeySlot.from_json(data["sign"]) if data.get("sign") else None,
                   auth=KeySlot.from_json(data["auth"]) if data.get("auth") else None)


def load(path: Path) -> CardFile:
    return CardFile.from_json(json.loads(path.read_text(encoding="utf-8")))


def save(path: Path, card: CardFile) -> None:
    """Atomically replace ``path`` (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(card.to_json(), file, ensure_ascii=False, indent=1)
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the card's advisory lock (a sibling ``.lock`` file) for a read-modify-write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
