"""`idp sim person ...`: residents and their life events (JSON per contract.md with --json)."""

from __future__ import annotations

import base64
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from cryptography import x509
from sqlalchemy import select

from idp.cli.support import echo_json, get_settings
from trust.jlis_sim import events, residents
from trust.jlis_sim.models import CertificateRecord
from trust.jlis_sim.store import Sim, from_db, open_sim

_JSON = click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")


def open_instance() -> Sim:
    return open_sim(get_settings())


def print_result(value: dict[str, Any], as_json: bool) -> None:
    if as_json:
        echo_json(value)
    else:
        for key, item in value.items():
            click.echo(f"{key}: {item}")


@click.group("person")
def person() -> None:
    """Residents with virtual cards, and their life events."""


@person.command("add")
@click.option("--name", required=True, help="Family and given name (space between).")
@click.option("--birth", required=True, type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD.")
@click.option("--sex", required=True, type=click.Choice(["1", "2", "3"]),
              help="1 male, 2 female, 3 unknown.")
@click.option("--address", required=True, help="From the prefecture, e.g. 東京都千代田区永田町1.")
@click.option("--card", "card_file", required=True,
              type=click.Path(dir_okay=False, path_type=Path), help="Virtual card file to write.")
@click.option("--sign-pin", help="Signing PIN (6-16 upper-case alphanumerics); generated if unset.")
@click.option("--auth-pin", help="Auth PIN (4 digits); generated if unset.")
@click.option("--phone", "phone_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also issue smartphone certificates into this file (JPKIAPGPSETOKEN).")
@click.option("--no-link-consent", is_flag=True, help="Refuse old→new serial linking.")
@click.option("--ca-generation", help="Issue from this CA generation label (default: newest).")
@_JSON
def add(name: str, birth: datetime, sex: str, address: str, card_file: Path,
        sign_pin: str | None, auth_pin: str | None, phone_file: Path | None,
        no_link_consent: bool, ca_generation: str | None, as_json: bool) -> None:
    """A resident with a new card (no signing certificate under 15)."""
    new = residents.NewResident(
        name=name, birth_date=birth.date(), sex=int(sex), address=address, card_file=card_file,
        sign_pin=sign_pin, auth_pin=auth_pin, phone_file=phone_file,
        link_consent=not no_link_consent, ca_label=ca_generation)
    print_result(residents.add(open_instance(), new), as_json)


@person.command("show")
@click.argument("person_id")
@_JSON
def show(person_id: str, as_json: bool) -> None:
    """The resident: 4 info, card files, every certificate issued."""
    with open_instance().transaction() as session:
        found = residents.get(session, person_id)
        certificates = list(session.scalars(
            select(CertificateRecord).where(CertificateRecord.person_id == person_id)))
        data: dict[str, Any] = {
            "person_id": found.person_id, "name": found.name, "sex": str(found.sex),
            "birth_date": found.birth_date.isoformat(), "address": found.address,
            "prefecture": found.prefecture, "city": found.city, "state": found.state,
            "card_state": found.card_state, "card_file": found.card_file,
            "phone_file": found.phone_file, "link_consent": found.link_consent,
            "certificates": [_certificate_json(c) for c in
                             sorted(certificates, key=lambda c: c.not_before)],
        }
    if as_json:
        echo_json(data)
        return
    listed: list[dict[str, Any]] = data.pop("certificates")
    for key, value in data.items():
        click.echo(f"{key}: {value}")
    for cert in listed:
        click.echo(f"  {cert['purpose']}/{cert['medium']} {cert['serial']} {cert['status']}"
                   f"{' ' + cert['revocation_reason'] if cert['revocation_reason'] else ''}")


def _certificate_json(record: CertificateRecord) -> dict[str, Any]:
    certificate = x509.load_der_x509_certificate(record.der)
    return {"serial": record.serial, "purpose": record.purpose, "medium": record.medium,
            "card_no": record.card_no, "ca_id": record.ca_id, "status": record.status,
            "revocation_reason": record.revocation_reason,
            "revoked_at": from_db(record.revoked_at).isoformat() if record.revoked_at else None,
            "not_after": certificate.not_valid_after_utc.isoformat(),
            "previous_serial": record.previous_serial, "replaced_by": record.replaced_by,
            "certificate": base64.b64encode(record.der).decode()}


def _event(event: str, help_text: str, *options: click.Option) -> None:
    """One `idp sim person EVENT PERSON_ID` command per row of ``events.EVENTS``."""
    @person.command(event, help=help_text)
    @click.argument("person_id")
    @_JSON
    def command(person_id: str, as_json: bool, **changes: str) -> None:
        print_result(events.apply(open_instance(), person_id, event, **changes), as_json)

    for option in options:
        command.params.insert(1, option)


_event("move", "Moves to ADDRESS: signing revoked (affiliationChanged) and re-issued.",
       click.Option(["--address"], required=True, help="The new address."))
_event("rename", "Changes name: signing revoked (affiliationChanged) and re-issued.",
       click.Option(["--name"], required=True, help="The new name."))
_event("renew", "Renews the card's certificates: old ones superseded, new serials linked.")
_event("lose-card", "Reports the card lost: both certificates on hold (certificateHold).")
_event("found-card", "The lost card was found: the hold is lifted.")
_event("card-not-found", "The lost card stays lost: both revoked (cessationOfOperation).")
_event("new-card", "Issues a new card: old certificates revoked, new ones linked old→new.")
_event("emigrate", "Moves abroad: signing revoked (affiliationChanged); auth stays valid.")
_event("die", "Death: both certificates revoked (affiliationChanged).")
__all__ = ["date", "person"]
