"""`idp card`: read a My Number Card and answer card requests with it (the card client)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from idp.card.backends import open_card
from idp.card.connection import Channel
from idp.card.digest import digest_info_sha256
from idp.card.errors import NoSuchFileError, SecurityStatusError
from idp.card.jpki import KEY_FILES, JpkiCard
from idp.card.request import PURPOSES, CardRequest, answer_request, fetch_request
from idp.cli.support import Refused, echo_json
from idp.jpki.profile import TOKEN_PHONE, Purpose

_TRACE_HELP = "Print every APDU and status word (PINs masked) on stderr."
_READER_HELP = "PC/SC reader (name or unique prefix; see `idp card readers`)."


def _card_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--trace", is_flag=True, help=_TRACE_HELP)(command)
    command = click.option("--reader", metavar="NAME", help=_READER_HELP)(command)
    return click.option("--card-file", type=click.Path(dir_okay=False),
                        help="A virtual card file (in-process, no PC/SC).")(command)


@contextmanager
def _jpki(card_file: str | None, reader: str | None, trace: bool) -> Iterator[JpkiCard]:
    if (card_file is None) == (reader is None):
        raise click.UsageError("give exactly one of --card-file or --reader")
    tracer = (lambda line: click.echo(line, err=True)) if trace else None
    channel = Channel(open_card(card_file=card_file, reader=reader), tracer)
    try:
        card = JpkiCard(channel)
        card.select()
        yield card
    finally:
        channel.close()


@click.group("card")
def card() -> None:
    """Read a My Number Card (PC/SC reader or virtual card) and answer card requests."""


@card.command("readers")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def readers(as_json: bool) -> None:
    """List the PC/SC readers."""
    from idp.card.pcsc import reader_names  # pyscard only for commands that need PC/SC

    names = reader_names()
    if as_json:
        echo_json(names)
        return
    for name in names:
        click.echo(name)
    if not names:
        click.echo("no readers (is pcscd running?)", err=True)


@card.command("info")
@_card_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON (certificates as base64 DER).")
def info(card_file: str | None, reader: str | None, trace: bool, as_json: bool) -> None:
    """Token label, the certificates readable without a PIN, and PIN tries left."""
    with _jpki(card_file, reader, trace) as jpki:
        token = jpki.token()
        certificates = {name: _optional(jpki.read_certificate, ef) for name, ef in (
            ("auth", KEY_FILES[Purpose.AUTH].certificate),
            ("auth_ca", KEY_FILES[Purpose.AUTH].ca_certificate),
            ("sign", KEY_FILES[Purpose.SIGN].certificate),
            ("sign_ca", KEY_FILES[Purpose.SIGN].ca_certificate))}
        tries = {purpose.value: _optional(jpki.tries_left, purpose) for purpose in Purpose}
    result = {"token": token, "medium": "phone" if token == TOKEN_PHONE else "card",
              "certificates": {name: base64.b64encode(der).decode() if der else None
                               for name, der in certificates.items()},
              "pin_tries_left": tries}
    if as_json:
        echo_json(result)
        return
    click.echo(f"token: {token} ({result['medium']})")
    for name, der in certificates.items():
        click.echo(f"{name} certificate: {f'{len(der)} bytes' if der else 'not readable now'}")
    for purpose, left in tries.items():
        click.echo(f"{purpose} PIN tries left: {'no such PIN' if left is None else left}")


def _optional(read: Callable[[Any], Any], what: Any) -> Any:
    """None for what this card lacks (a minor has no signing key) or keeps behind a PIN."""
    try:
        return read(what)
    except (NoSuchFileError, SecurityStatusError):
        return None


@card.command("sign")
@click.argument("request_url")
@_card_options
@click.option("--pin", help="The PIN of the requested key (asked, hidden, when absent).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Allow spending the PIN's last try.")
def sign(request_url: str, card_file: str | None, reader: str | None, trace: bool,
         pin: str | None, yes: bool, force: bool) -> None:
    """Answer a card request: show it, verify the PIN, sign, send the answer."""
    request = fetch_request(request_url)
    _show(request)
    if not yes and not click.confirm("Sign this request with your card?", err=True):
        raise Refused("not signed: you declined")
    purpose = request.certificate
    with _jpki(card_file, reader, trace) as jpki:
        _check_tries(_tries_left(jpki, purpose), purpose, force)
        if pin is None:
            pin = click.prompt(f"{purpose.value} PIN", hide_input=True, err=True)
        jpki.verify_pin(purpose, pin)
        certificate = jpki.read_certificate(KEY_FILES[purpose].certificate)
        signature = jpki.sign(purpose, digest_info_sha256(request.to_be_signed))
    status = answer_request(request, certificate, signature)
    click.echo(f"{status}: signed request {request.request_id} for {request.relying_party}")


def _show(request: CardRequest) -> None:
    key = "signing certificate (署名用)" if request.certificate is Purpose.SIGN else \
        "user-authentication certificate (利用者証明用)"
    click.echo(f"IdP:           {request.issuer}", err=True)
    click.echo(f"Relying party: {request.relying_party}", err=True)
    click.echo(f"Purpose:       {request.purpose}: {PURPOSES[request.purpose]}", err=True)
    click.echo(f"Key:           {key}", err=True)
    if request.document is not None:
        title, text = request.document
        click.echo(f"Document:      {title}", err=True)
        click.echo("-" * 72 + "\n" + text + "\n" + "-" * 72, err=True)
    if request.certificate is Purpose.SIGN:
        click.echo("Your name, date of birth, sex and address will be shared.", err=True)


def _tries_left(jpki: JpkiCard, purpose: Purpose) -> int:
    try:
        return jpki.tries_left(purpose)
    except NoSuchFileError as error:  # JPKI issues no signing certificate under 15
        raise Refused(f"this card has no {purpose.value} certificate (a person under 15 has "
                      "no signing certificate): nothing was signed; cancel on the web page"
                      ) from error


def _check_tries(left: int, purpose: Purpose, force: bool) -> None:
    """Never spend the last try by accident: a blocked PIN needs a visit to the town hall."""
    if left == 0:
        raise Refused(f"the {purpose.value} PIN is blocked: reset it at your municipality")
    click.echo(f"{purpose.value} PIN: {left} {'try' if left == 1 else 'tries'} left", err=True)
    if left == 1 and not force:
        raise Refused(f"only one {purpose.value} PIN try left: a wrong PIN would block it; "
                      "run again with --force if you are sure of the PIN")
