"""`idp sim ...`: the J-LIS simulator's commands, plugged into `idp` through an entry point."""

from __future__ import annotations

from pathlib import Path

import click

from idp.cli.support import echo_json, get_settings
from trust.jlis_sim import ca, verifiers
from trust.jlis_sim.cli_person import open_instance, person, print_result


@click.group("sim")
def sim() -> None:
    """The J-LIS simulator: CAs, residents with virtual cards, verifier API (never production)."""


@sim.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Listen address.")
@click.option("--port", type=int, default=None, help="Listen port (default: the port of sim.url).")
def serve(host: str, port: int | None) -> None:
    """Serve the verifier API (docs/jlis-api.md) on IDP_SIM__URL's port."""
    from urllib.parse import urlsplit

    from werkzeug.serving import make_server

    from trust.jlis_sim.api import create_sim_app

    settings = get_settings()
    port = port or urlsplit(settings.sim.url).port or 80
    server = make_server(host, port, create_sim_app(settings), threaded=True)
    click.echo(f"J-LIS simulator on http://{host}:{port} (certificates name {settings.sim.url})",
               err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@sim.group("verifier")
def verifier() -> None:
    """Registered verifiers (API keys)."""


@verifier.command("add")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print {verifier_id, api_key}.")
def verifier_add(name: str, as_json: bool) -> None:
    """Register a verifier; its API key is printed once and never stored."""
    print_result(verifiers.register(open_instance(), name), as_json)


@sim.command("metering")
@click.option("--json", "as_json", is_flag=True, help="JSON lines, one per verifier.")
def metering(as_json: bool) -> None:
    """Checks and fees per verifier (sign 20 yen, auth 2 yen)."""
    with open_instance().transaction() as session:
        rows = verifiers.all_usage(session)
    for row in rows:
        if as_json:
            echo_json(row)
        else:
            click.echo(f"{row['verifier_id']} {row['name']}: sign {row['checks']['sign']}, "
                       f"auth {row['checks']['auth']}, {row['yen']} yen")


@sim.group("ca")
def ca_group() -> None:
    """The simulator's CA generations."""


@ca_group.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def ca_export(directory: Path) -> None:
    """Write every CA certificate as PEM under DIRECTORY/sign/ and DIRECTORY/auth/."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    with open_instance().transaction() as session:
        for record in ca.all_records(session):
            target = directory / record.purpose / f"jpki-sim-{record.ca_id}.pem"
            target.parent.mkdir(parents=True, exist_ok=True)
            pem = x509.load_der_x509_certificate(record.certificate_der).public_bytes(Encoding.PEM)
            target.write_bytes(pem)
            click.echo(str(target))


sim.add_command(person)
