"""`idp admin`: administrators of the console (/admin) and tokens for its JSON API."""

from __future__ import annotations

import click

from idp.admin.identity import CLI
from idp.cli.support import echo_json, services


@click.group("admin")
def admin_group() -> None:
    """The administrators of /admin and tokens for /admin/api (docs/admin.md)."""


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
        admin_id, secret = built.admin.identity.add(CLI, name, role)
        url = built.admin.identity.enrol_url(secret)
    if as_json:
        echo_json({"admin_id": admin_id, "enroll_url": url})
    else:
        click.echo(f"administrator {name} ({role}): {admin_id}")
        click.echo(f"enrolment URL (once, within 15 minutes): {url}")


@admin_group.command("token")
@click.argument("name")
@click.option("--ttl", type=click.IntRange(min=1), default=None,
              help="Lifetime in seconds (default admin.token_default_ttl_seconds, at most "
                   "admin.token_max_ttl_seconds).")
@click.option("--json", "as_json", is_flag=True, help='Print {"token", "expires_at"}.')
def token(name: str, ttl: int | None, as_json: bool) -> None:
    """A short-lived bearer token for the admin JSON API, carrying NAME's role."""
    with services() as built:
        value, expires_at = built.admin.identity.issue_token(name, ttl)
    if as_json:
        echo_json({"token": value, "expires_at": expires_at})
    else:
        click.echo(value)


@admin_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the administrators as JSON.")
def list_admins(as_json: bool) -> None:
    """The administrators, their roles and whether they registered their passkey."""
    with services() as built:
        found = built.admin.identity.all(CLI)
    if as_json:
        echo_json([{"admin_id": a.admin_id, "name": a.name, "role": a.role,
                    "enrolled": a.enrolled} for a in found])
        return
    for a in found:
        click.echo(f"{a.name}\t{a.role}\t{'enrolled' if a.enrolled else 'not enrolled'}")
