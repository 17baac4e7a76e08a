"""Instance secrets generated once under var/ (mode 0600) when the settings do not provide them."""

from __future__ import annotations

import os
import secrets

from idp.settings import Settings


def instance_secret(settings: Settings, name: str, nbytes: int = 32) -> str:
    """The secret ``name`` of this instance, created on first use and kept in var/secrets/."""
    directory = settings.var_dir / "secrets"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(nbytes)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its value
        return path.read_text().strip()
    with os.fdopen(fd, "w") as file:
        file.write(value)
    return value
