"""Instance secrets generated once under var/ (mode 0600) when the settings do not provide them."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from idp.settings import Settings


def instance_secret(settings: Settings, name: str, nbytes: int = 32) -> str:
    """The secret ``name`` of this instance, created on first use and kept in var/secrets/.

    Several processes may start at once on a fresh var/ (one app per server worker): the value
    is written whole under a name of its own, then linked to ``name``, which fails if another
    process linked first. So ``name`` never exists half written, the first link wins, and every
    process returns the winner's value."""
    directory = settings.var_dir / "secrets"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    if not path.exists():
        fd, written = tempfile.mkstemp(dir=directory, prefix=f".{name}.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_urlsafe(nbytes))
                file.flush()
                os.fsync(file.fileno())
            with contextlib.suppress(FileExistsError):  # another process linked first: its
                os.link(written, path)  # value is the instance's
        finally:
            os.unlink(written)
    return _read(path)


def _read(path: Path) -> str:
    value = path.read_text().strip()
    if not value:
        raise RuntimeError(f"{path} is empty: remove it and start again to have a new secret "
                           "made (what the old one signed, such as login sessions, ends)")
    return value
