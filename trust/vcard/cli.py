"""`idp vcard`: the virtual My Number Card, plugged into PC/SC through vsmartcard's vpcd."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from types import FrameType

import click

from idp.cli.support import Refused
from trust.vcard import vpcd
from trust.vcard.applet import JpkiApplet


@click.group("vcard")
def vcard() -> None:
    """The virtual My Number Card (a card file written by the J-LIS simulator)."""


@vcard.command("attach")
@click.option("--card-file", required=True, type=click.Path(dir_okay=False, exists=True,
                                                              path_type=Path))
@click.option("--vpcd", "address", default=f"127.0.0.1:{vpcd.DEFAULT_PORT}", show_default=True,
              metavar="HOST:PORT", help="Where vpcd (pcscd's vsmartcard driver) listens.")
@click.option("--trace", is_flag=True, help="Print every APDU exchanged (PINs masked).")
def attach(card_file: Path, address: str, trace: bool) -> None:
    """Insert the card into vpcd's reader until interrupted (Ctrl-C removes it)."""
    host, _, port_text = address.rpartition(":")
    if not host or not (port_text.isascii() and port_text.isdigit()):
        raise click.BadParameter("expected HOST:PORT", param_hint="--vpcd")
    try:
        applet = JpkiApplet(card_file)
    except (OSError, ValueError, KeyError) as error:
        raise Refused(f"cannot read the card file: {error}") from error
    try:
        sock = vpcd.connect(host, int(port_text))
    except OSError as error:
        raise Refused(f"cannot reach vpcd at {address} (is pcscd running with "
                      f"vsmartcard-vpcd?): {error}") from error
    signal.signal(signal.SIGTERM, _exit)
    click.echo(f"card {card_file} inserted into vpcd at {address}", err=True)
    log = (lambda line: click.echo(line, err=True)) if trace else None
    try:
        with sock:
            vpcd.serve(sock, applet, log)
    except (KeyboardInterrupt, ConnectionError):
        pass
    click.echo("card removed", err=True)


def _exit(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)  # closes the socket on the way out: the reader sees the card removed
