"""What every `idp` command shares: settings of this invocation, refusals, JSON output."""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from idp.bootstrap import Services
from idp.settings import Settings, load_settings


class Refused(click.ClickException):
    """The operation was refused: exit status 1, one line on stderr."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(f"idp: {self.format_message()}", err=True, file=file)


def get_settings(ctx: click.Context | None = None) -> Settings:
    """The settings of this invocation (built once, on first use)."""
    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    if not isinstance(root.obj, dict):
        root.obj = {}
    if "settings" not in root.obj:
        root.obj["settings"] = load_settings(root.obj.get("config_file"))
    settings: Settings = root.obj["settings"]
    return settings


def os_user() -> str:
    """Who runs this command, as the operating system knows them (the audit log's actor)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid{os.getuid()}"


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, sort_keys=True))


@contextmanager
def services(ctx: click.Context | None = None) -> Iterator[Services]:
    """The services of this invocation (``idp.bootstrap``), closed when the command ends."""
    built = Services.build(get_settings(ctx))
    try:
        yield built
    finally:
        built.close()
