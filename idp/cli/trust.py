"""`idp trust`: the trust policy (idp.trustpolicy): show it, change it, its history, rollback.

Every change is a new version recorded as made by ``cli:<user>`` (the operating-system user),
and holds at every worker's and node's next login (within ``trust.policy_check_seconds``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from idp.cli.support import Refused, echo_json, os_user, services
from idp.errors import IdpError
from idp.trustpolicy.document import (
    MEDIA,
    PURPOSES,
    SETTABLE,
    TrustPolicy,
    describe_change,
    parse_value,
)
from idp.trustpolicy.service import PolicyVersion

_PURPOSE = click.Choice(PURPOSES)
_MEDIUM = click.Choice(MEDIA)


def cli_actor() -> str:
    """``cli:<user>``: who ran the command, as the operating system knows them."""
    return f"cli:{os_user()}"


class _Group(click.Group):
    """A refusal of the service is one line on stderr and exit status 1, also when this group
    runs by itself (as the root ``idp`` group does for every command)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IdpError as error:
            raise Refused(error.description) from error


@click.group("trust", cls=_Group)
def trust_group() -> None:
    """The trust policy: CA anchors, revocation checks, reason mapping, media levels."""


@trust_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="The current version as JSON.")
def show(as_json: bool) -> None:
    """Print the current trust policy."""
    with services() as built:
        current = built.trust_policy.current()
    if as_json:
        echo_json(current.as_json())
        return
    click.echo(f"trust policy version {current.version} ({_made(current)})")
    click.echo(render(current.policy))


def render(policy: TrustPolicy) -> str:
    lines = ["anchors:"]
    for entry in sorted(policy.anchors, key=lambda a: (a.purpose, a.medium, a.generation)):
        state = "enabled" if entry.enabled else "retired"
        lines.append(f"  {entry.purpose:<4} {entry.medium:<10} {entry.generation:<8} {state:<8} "
                     f"{entry.fingerprint[:16]}  {entry.subject}  (until "
                     f"{entry.not_after[:10]})")
    lines.append("revocation:")
    for purpose, rule in policy.revocation.items():
        lines.append(f"  {purpose}: method={rule.method} "
                     f"max_ocsp_age_seconds={rule.max_ocsp_age_seconds} "
                     f"max_crl_staleness_seconds={rule.max_crl_staleness_seconds} "
                     f"fail_closed={rule.fail_closed_text()}")
    reasons = policy.reasons
    lines.append(f"reasons ({reasons.reading}):")
    lines += [f"  both revoked, {reason} → {state}"
              for reason, state in sorted(reasons.card_revocation.items())]
    lines.append(f"  signing alone revoked, re-issue for: {', '.join(reasons.reissue_reasons)}")
    lines.append("media:")
    lines += [f"  {medium}: up to IAL{rule.max_ial}" for medium, rule in policy.media.items()]
    return "\n".join(lines)


@trust_group.group("policy")
def policy_group() -> None:
    """Change the trust policy by key; its history; rollback."""


@policy_group.command("set", epilog="Keys: " + "; ".join(SETTABLE),
                      context_settings={"ignore_unknown_options": True})
@click.argument("key")
@click.argument("value")
@click.option("--reason", default="", help="Why (recorded with the version).")
@click.option("--json", "as_json", is_flag=True, help="The new version as JSON.")
def policy_set(key: str, value: str, reason: str, as_json: bool) -> None:
    """Set KEY (e.g. revocation.sign.max_crl_staleness_seconds) to VALUE: a new version."""
    with services() as built:
        recorded = built.trust_policy.set(key, parse_value(value), actor=cli_actor(),
                                          reason=reason)
    _changed(recorded, as_json)


@policy_group.command("history")
@click.option("--json", "as_json", is_flag=True, help="Every version as JSON, newest first.")
def policy_history(as_json: bool) -> None:
    """Every version of the trust policy: who, when, why, what changed."""
    with services() as built:
        versions = built.trust_policy.history()
    if as_json:
        echo_json([version.as_json(with_policy=False) for version in versions])
        return
    for version in versions:
        click.echo(f"version {version.version}  {_made(version)}")
        if version.reason:
            click.echo(f"  reason: {version.reason}")
        if version.version == 1:
            click.echo(f"  ({len(version.diff)} fields: the first version)")
            continue
        for change in version.diff:
            click.echo(f"  {describe_change(change)}")


@policy_group.command("rollback")
@click.argument("version", type=int)
@click.option("--reason", default="", help="Why (recorded with the new version).")
@click.option("--json", "as_json", is_flag=True, help="The new version as JSON.")
def policy_rollback(version: int, reason: str, as_json: bool) -> None:
    """Make VERSION current again (recorded as a new version)."""
    with services() as built:
        recorded = built.trust_policy.rollback(version, actor=cli_actor(), reason=reason)
    _changed(recorded, as_json)


@trust_group.group("anchors")
def anchors_group() -> None:
    """The CA generations trusted per purpose and medium."""


@anchors_group.command("add")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--purpose", type=_PURPOSE, required=True,
              help="sign (署名用) or auth (利用者証明用).")
@click.option("--medium", type=_MEDIUM, help="Default: what the CA's name says (card).")
@click.option("--generation", help="Default: the CA's first year of validity.")
@click.option("--reason", default="", help="Why (recorded with the version).")
@click.option("--json", "as_json", is_flag=True, help="The new version as JSON.")
def anchors_add(file: Path, purpose: str, medium: str | None, generation: str | None,
                reason: str, as_json: bool) -> None:
    """Trust the CA certificate(s) in FILE (PEM or DER) for PURPOSE."""
    with services() as built:
        recorded = built.trust_policy.add_anchor(
            file.read_bytes(), purpose=purpose, medium=medium, generation=generation,
            actor=cli_actor(), reason=reason, source=str(file))
    _changed(recorded, as_json)


def _selection(command: Any) -> Any:
    for option in reversed([
            click.argument("fingerprint", required=False),
            click.option("--purpose", type=_PURPOSE),
            click.option("--medium", type=_MEDIUM),
            click.option("--generation"),
            click.option("--reason", default="", help="Why (recorded with the version)."),
            click.option("--json", "as_json", is_flag=True, help="The new version as JSON.")]):
        command = option(command)
    return command


@anchors_group.command("retire")
@_selection
def anchors_retire(fingerprint: str | None, purpose: str | None, medium: str | None,
                   generation: str | None, reason: str, as_json: bool) -> None:
    """Stop trusting a CA generation (by FINGERPRINT or a unique start of it, or by
    --purpose/--medium/--generation): its certificates are refused at the next login."""
    with services() as built:
        recorded = built.trust_policy.retire(
            fingerprint=fingerprint, purpose=purpose, medium=medium,
            generation=generation, actor=cli_actor(), reason=reason)
    _changed(recorded, as_json)


@anchors_group.command("enable")
@_selection
def anchors_enable(fingerprint: str | None, purpose: str | None, medium: str | None,
                   generation: str | None, reason: str, as_json: bool) -> None:
    """Trust a listed (retired) CA generation again."""
    with services() as built:
        recorded = built.trust_policy.enable(
            fingerprint=fingerprint, purpose=purpose, medium=medium,
            generation=generation, actor=cli_actor(), reason=reason)
    _changed(recorded, as_json)


def _made(version: PolicyVersion) -> str:
    made = f"{version.created_at:%Y-%m-%d %H:%M:%S} UTC by {version.actor}"
    return made + (f", rollback to version {version.rollback_of}"
                   if version.rollback_of is not None else "")


def _changed(recorded: PolicyVersion, as_json: bool) -> None:
    if as_json:
        echo_json(recorded.as_json())
        return
    click.echo(f"trust policy version {recorded.version} ({_made(recorded)})")
    for change in recorded.diff:
        click.echo(f"  {describe_change(change)}")
