"""The `idp` console script: one click group; plugins add groups through an entry point.

Exit status: 0 on success, 1 on a refused operation (one line on stderr), 2 on usage errors.
Built-in groups live next to their package (``idp/<package>/cli.py``) and are listed in
``BUILTIN_COMMANDS``; the J-LIS simulator and the virtual card (under ``trust/``) plug in through
the ``idp.cli_plugins`` entry point, so ``idp`` never imports them.
"""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import click

from idp.cli.support import Refused
from idp.errors import IdpError

BUILTIN_COMMANDS = [
    "idp.cli.db:db_group",
    "idp.cli.serve:serve",
    "idp.cli.oidc:keys_group",
    "idp.cli.oidc:clients_group",
    "idp.cli.oidc:logout_group",
    "idp.cli.config:config_group",
    "idp.cli.card:card",
    "idp.cli.recheck:recheck",
    "idp.cli.events:events_group",
    "idp.cli.audit:audit_group",
    "idp.cli.admin:admin_group",
    "idp.cli.trust:trust_group",
    "idp.cli.metering:metering_group",
]


class _IdpGroup(click.Group):
    """Turns IdpError into a refusal (exit 1) instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IdpError as error:
            raise Refused(error.description) from error


@click.group(cls=_IdpGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
              envvar="IDP_CONFIG", help="Settings file (default: config/idp.toml).")
@click.version_option(package_name="jpki-idp")
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None) -> None:
    """The JPKI-anchored identity provider (instance in IDP_VAR_DIR, default var/)."""
    ctx.obj = {"config_file": config_file}


def _load(spec: str) -> click.Command:
    module_name, _, attribute = spec.partition(":")
    command: click.Command = getattr(importlib.import_module(module_name), attribute)
    return command


def _register_commands() -> None:
    for spec in BUILTIN_COMMANDS:
        cli.add_command(_load(spec))
    for plugin in entry_points(group="idp.cli_plugins"):
        try:
            cli.add_command(plugin.load(), plugin.name)
        except ImportError as error:  # a plugin that is not installed must not break `idp`
            print(f"idp: plugin {plugin.name!r} unavailable: {error}", file=sys.stderr)


_register_commands()


def main() -> None:
    cli(prog_name="idp")
