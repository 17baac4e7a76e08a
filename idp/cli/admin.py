"""`idp admin`: administrators of the console (/admin) and tokens for its JSON API."""

from __future__ import annotations

import click

from idp.admin.identity import cli_actor
from idp.admin.roles import Actor
from idp.cli.support import echo_json, os_user, services


@click.group("admin")
def admin_group() -> None:
    """The administrators of /admin and tokens for /admin/api (docs/admin.md)."""


def _operator() -> Actor:
    """Who acts: the operating system user running `idp admin`, recorded as
    ``admin:cli:<user>``."""
    return cli_actor(os_user())


@admin_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "auditor", "support"]), required=True,
              help="admin: everything; auditor: reads everything, changes nothing; support: "
                   "finds accounts, sees 4 info only after giving a reason.")
@click.option("--json", "as_json", is_flag=True, help='Print {"admin_id", "enroll_url"}.')
def add(name: str, role: str, as_json: bool) -> None:
    """Create an administrator; prints the one-time URL (valid 15 minutes) where they
    register the passkey they sign in to /admin with."""
    with services() as built:
        admin_id, secret = built.admin.identity.add(_operator(), name, role)
        url = built.admin.identity.enrol_url(secret)
    if as_json:
        echo_json({"admin_id": admin_id, "enroll_url": url})
    else:
        click.echo(f"administrator {name} ({role}): {admin_id}")
        click.echo(f"enrolment URL (once, within 15 minutes): {url}")


@admin_group.command("enrol")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help='Print {"admin_id", "enroll_url"}.')
def enrol(name: str, as_json: bool) -> None:
    """A new one-time enrolment URL for an existing administrator (a new device, a lost
    passkey)."""
    with services() as built:
        admin_id, secret = built.admin.identity.reenrol(_operator(), name)
        url = built.admin.identity.enrol_url(secret)
    if as_json:
        echo_json({"admin_id": admin_id, "enroll_url": url})
    else:
        click.echo(f"enrolment URL for {name} (once, within 15 minutes): {url}")


@admin_group.command("token")
@click.argument("name")
@click.option("--ttl", type=click.IntRange(min=1), default=None,
              help="Lifetime in seconds (default admin.token_default_ttl_seconds, at most "
                   "admin.token_max_ttl_seconds).")
@click.option("--json", "as_json", is_flag=True, help='Print {"token", "expires_at"}.')
def token(name: str, ttl: int | None, as_json: bool) -> None:
    """A short-lived bearer token for the admin JSON API, carrying NAME's role."""
    with services() as built:
        value, expires_at = built.admin.identity.issue_token(name, ttl, actor=_operator())
    if as_json:
        echo_json({"token": value, "expires_at": expires_at})
    else:
        click.echo(value)


@admin_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the administrators as JSON.")
def list_admins(as_json: bool) -> None:
    """The administrators, their roles and whether they registered their passkey."""
    with services() as built:
        found = built.admin.identity.all(_operator())
    if as_json:
        echo_json([{"admin_id": a.admin_id, "name": a.name, "role": a.role,
                    "enrolled": a.enrolled} for a in found])
        return
    for a in found:
        click.echo(f"{a.name}\t{a.role}\t{'enrolled' if a.enrolled else 'not enrolled'}")


# -- the same actions as the console, from the shell (admin:cli:<OS user>, the admin role) --
@admin_group.group("account")
def account_group() -> None:
    """People's accounts: look one up, lock or unlock it (with a reason)."""


@account_group.command("show")
@click.argument("private_id")
def account_show(private_id: str) -> None:
    """An account as the console shows it (4 info hidden), as JSON."""
    with services() as built:
        echo_json(built.admin.accounts.detail(_operator(), private_id).model_dump(mode="json"))


@account_group.command("lock")
@click.argument("private_id")
@click.option("--reason", required=True, help="Why (recorded; relying parties are told).")
def account_lock(private_id: str, reason: str) -> None:
    """Lock an account: every sign-in refused, sessions ended, relying parties told."""
    with services() as built:
        locked = built.admin.accounts.lock(_operator(), private_id, reason)
        echo_json(locked.model_dump(mode="json"))


@account_group.command("unlock")
@click.argument("private_id")
@click.option("--reason", required=True, help="Why (recorded).")
def account_unlock(private_id: str, reason: str) -> None:
    """Unlock an account."""
    with services() as built:
        unlocked = built.admin.accounts.unlock(_operator(), private_id, reason)
        echo_json(unlocked.model_dump(mode="json"))


@admin_group.group("client")
def client_group() -> None:
    """Relying parties: show, disable or enable one, rotate its secret."""


@client_group.command("show")
@click.argument("client_id")
def client_show(client_id: str) -> None:
    """A relying party as JSON."""
    with services() as built:
        echo_json(built.admin.clients.get(_operator(), client_id).model_dump(mode="json"))


@client_group.command("disable")
@click.argument("client_id")
@click.option("--reason", required=True, help="Why (recorded).")
def client_disable(client_id: str, reason: str) -> None:
    """Disable a relying party: no more logins nor tokens."""
    with services() as built:
        built.admin.clients.set_disabled(_operator(), client_id, disabled=True, reason=reason)
    click.echo(f"{client_id} disabled")


@client_group.command("enable")
@click.argument("client_id")
@click.option("--reason", required=True, help="Why (recorded).")
def client_enable(client_id: str, reason: str) -> None:
    """Enable a disabled relying party again."""
    with services() as built:
        built.admin.clients.set_disabled(_operator(), client_id, disabled=False, reason=reason)
    click.echo(f"{client_id} enabled")


@client_group.command("rotate-secret")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True, help='Print {"client_id", "client_secret"}.')
def client_rotate(client_id: str, as_json: bool) -> None:
    """A new client secret (shown once); the old one stops working at once."""
    with services() as built:
        secret = built.admin.clients.rotate_secret(_operator(), client_id)
    if as_json:
        echo_json({"client_id": client_id, "client_secret": secret})
    else:
        click.echo(secret)
