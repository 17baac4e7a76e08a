"""`idp keys`, `idp clients` and `idp logout`: signing key rotation, relying-party registration,
back-channel logout delivery."""

from __future__ import annotations

import json
from pathlib import Path

import click

from idp import db
from idp.bootstrap import key_store
from idp.cli.support import Refused, echo_json, get_settings, services
from idp.oidc import clients as client_registry


@click.group("keys")
def keys_group() -> None:
    """The ID token and access token signing keys (published at /jwks)."""


@keys_group.command("rotate")
@click.option("--json", "as_json", is_flag=True, help="Print the new key ids as JSON.")
def rotate(as_json: bool) -> None:
    """New signing keys; the old ones stay published until their tokens expire."""
    kids = key_store(get_settings()).rotate()
    if as_json:
        echo_json({"kids": kids})
    else:
        click.echo("new signing keys: " + ", ".join(kids))


@click.group("clients")
def clients_group() -> None:
    """Relying parties registered with this IdP."""


@clients_group.command("add")
@click.option("--name", required=True, help="Name shown to people on the consent page.")
@click.option("--redirect-uri", "redirect_uris", multiple=True,
              help="Exact redirect URI (repeat for several; required but with --device).")
@click.option("--device", is_flag=True, help="A TV or set-top box: a public client for the "
              "device authorization grant (RFC 8628), with no redirect URI.")
@click.option("--auth-method", type=click.Choice(client_registry.AUTH_METHODS),
              default="client_secret_basic", show_default=True,
              help="Token endpoint authentication (none: a public client with PKCE).")
@click.option("--public", is_flag=True, help="Public client: same as --auth-method none.")
@click.option("--default-acr", default=None, help="acr asked for when the request names none.")
@click.option("--post-logout-redirect-uri", "post_logout", multiple=True,
              help="Where /logout may send the browser back (repeatable).")
@click.option("--backchannel-logout-uri", default=None, help="Receives logout tokens.")
@click.option("--jwks", "jwks_file", type=click.Path(path_type=Path, dir_okay=False,
                                                      exists=True),
              help="The client's public JWK Set (private_key_jwt, signed request objects).")
@click.option("--jwks-uri", default=None,
              help="Where the client publishes its public JWK Set instead of --jwks (https; "
                   "fetched when needed, cached, refetched when it rotates keys).")
@click.option("--subject-type", type=click.Choice(["pairwise", "public"]), default="pairwise",
              show_default=True)
@click.option("--sector-identifier", default=None,
              help="Sector (host) shared by clients that may correlate subjects.")
@click.option("--access-token-format", type=click.Choice(["jwt", "opaque"]), default=None,
              help="Default: oidc.access_token_format.")
@click.option("--id-token-alg", type=click.Choice(["ES256", "RS256", "PS256"]), default=None,
              help="Default: oidc.id_token_alg.")
@click.option("--json", "as_json", is_flag=True, help='Print {"client_id", "client_secret"}.')
def add(name: str, redirect_uris: tuple[str, ...], device: bool, auth_method: str, public: bool,
        default_acr: str | None, post_logout: tuple[str, ...],
        backchannel_logout_uri: str | None, jwks_file: Path | None, jwks_uri: str | None,
        subject_type: str,
        sector_identifier: str | None, access_token_format: str | None,
        id_token_alg: str | None, as_json: bool) -> None:
    """Register a relying party and print its credentials (the secret is shown only now)."""
    settings = get_settings()
    if device:
        _add_device(name, redirect_uris, default_acr, subject_type, sector_identifier,
                    access_token_format or settings.oidc.access_token_format,
                    id_token_alg or settings.oidc.id_token_alg, as_json)
        return
    if not redirect_uris:
        raise click.UsageError("--redirect-uri is required (or --device for a TV or box)")
    jwks = _read_jwks(jwks_file) if jwks_file else None
    with services() as built, db.transaction(built.sessions) as session:
        client_id, secret = client_registry.register(
            session, name=name, redirect_uris=list(redirect_uris),
            auth_method="none" if public else auth_method, default_acr=default_acr,
            post_logout_redirect_uris=list(post_logout),
            backchannel_logout_uri=backchannel_logout_uri, jwks=jwks, jwks_uri=jwks_uri,
            subject_type=subject_type, sector_identifier=sector_identifier,
            access_token_format=access_token_format or settings.oidc.access_token_format,
            id_token_alg=id_token_alg or settings.oidc.id_token_alg)
    if as_json:
        echo_json({"client_id": client_id, "client_secret": secret})
    else:
        click.echo(f"client_id: {client_id}")
        if secret:
            click.echo(f"client_secret: {secret}")


def _add_device(name: str, redirect_uris: tuple[str, ...], default_acr: str | None,
                subject_type: str, sector_identifier: str | None, access_token_format: str,
                id_token_alg: str, as_json: bool) -> None:
    """``--device``: a public client for the device authorization grant (no redirect URI)."""
    if redirect_uris:
        raise click.UsageError("a device client has no redirect URI: drop --redirect-uri")
    with services() as built, db.transaction(built.sessions) as session:
        client_id = client_registry.register_device(
            session, name=name, default_acr=default_acr, subject_type=subject_type,
            sector_identifier=sector_identifier, access_token_format=access_token_format,
            id_token_alg=id_token_alg)
    if as_json:
        echo_json({"client_id": client_id, "client_secret": None})
    else:
        click.echo(f"client_id: {client_id}")


def _read_jwks(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text())
    except ValueError as error:
        raise Refused(f"{path} is not JSON") from error
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise Refused(f"{path} is not a JWK Set ({{\"keys\": [...]}})")
    if any("d" in key for key in data["keys"] if isinstance(key, dict)):
        raise Refused(f"{path} holds a private key: register the public keys only")
    return data


@click.group("logout")
def logout_group() -> None:
    """Back-channel logout notifications owed to relying parties."""


@logout_group.command("deliver")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"delivered", "retrying", "failed"} (client ids).')
def deliver(as_json: bool) -> None:
    """Send the logout tokens whose retry time has come (for cron; `idp serve` does it too)."""
    from idp.oidc import logout_outbox

    with services() as built:
        report = logout_outbox.deliver_due(built.oidc, limit=10_000)
    if as_json:
        echo_json({"delivered": list(report.delivered), "retrying": list(report.retrying),
                   "failed": list(report.failed)})
    else:
        click.echo(f"delivered {len(report.delivered)}, will retry {len(report.retrying)}, "
                   f"gave up {len(report.failed)}")
