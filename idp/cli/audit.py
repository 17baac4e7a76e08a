"""`idp audit`: prove the audit log intact, export it, sign checkpoints of it, prune it."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from idp.cli.support import Refused, echo_json, services


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit log (docs/operations.md, "Audit log")."""


@audit_group.command("verify")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(path_type=Path, dir_okay=False,
                                                                exists=True),
              help="A checkpoint handed out earlier (`idp audit checkpoint --json`): the log "
                   "must extend it.")
@click.option("--export", "export_file", type=click.Path(path_type=Path, dir_okay=False,
                                                        exists=True),
              help="Check these exported JSON lines against --checkpoint instead of the "
                   "database.")
@click.option("--jwks", "jwks_file", type=click.Path(path_type=Path, dir_okay=False,
                                                    exists=True),
              help="With --export: check the checkpoint's signature with these keys (a saved "
                   "/jwks) instead of the instance's: no instance needed.")
@click.option("--json", "as_json", is_flag=True, help='Print {"first", "size", "head"}.')
def verify(checkpoint_file: Path | None, export_file: Path | None, jwks_file: Path | None,
           as_json: bool) -> None:
    """Prove the hash chain unbroken (exit 1 and the first bad entry on stderr if not)."""
    from idp.audit import checkpoints
    from idp.audit.entries import Entry
    from idp.audit.errors import AuditError, BrokenChainError

    if export_file is not None and checkpoint_file is None:
        raise click.UsageError("--export needs --checkpoint")
    if jwks_file is not None:
        if export_file is None or checkpoint_file is None:
            raise click.UsageError("--jwks needs --checkpoint and --export")
        try:
            keys = checkpoints.PublishedKeys(json.loads(jwks_file.read_text(encoding="utf-8")))
            chain = checkpoints.prove_extends(
                _checkpoint(checkpoint_file, keys),
                (Entry.from_json(line) for line in _lines(export_file)))
        except AuditError as error:
            raise Refused(error.description) from error
        except (KeyError, TypeError, ValueError) as error:
            raise Refused(f"not a JWK set or not audit entries ({error})") from error
        _print(chain, as_json)
        return
    with services() as built:
        held = _checkpoint(checkpoint_file, built.keys) if checkpoint_file else None
        try:
            if export_file is not None and held is not None:
                chain = checkpoints.prove_extends(held, (Entry.from_json(line) for line in
                                                         _lines(export_file)))
            else:
                chain = checkpoints.verify_log(built.audit, built.keys, held)
        except BrokenChainError as error:
            bad = built.audit.entries(since=error.seq, limit=1)
            if bad and bad[0].seq == error.seq:
                click.echo(json.dumps(bad[0].to_json(), ensure_ascii=False, sort_keys=True),
                           err=True)
            raise Refused(f"audit log broken at {error.description}") from error
        except AuditError as error:
            raise Refused(error.description) from error
        except (KeyError, TypeError, ValueError) as error:
            raise Refused(f"{export_file}: a line is not an audit entry ({error})") from error
    _print(chain, as_json)


def _print(chain: Any, as_json: bool) -> None:
    if as_json:
        echo_json({"first": chain.first, "size": chain.size, "head": chain.head})
    else:
        click.echo(f"audit log intact: entries {chain.first}..{chain.size}, head {chain.head}")


@audit_group.command("export")
@click.option("--since", default=None,
              help="From this seq (an integer) or this time (ISO 8601, UTC if no offset).")
def export(since: str | None) -> None:
    """Print the entries as JSON lines, in seq order, each with its prev_hash and hash."""
    start = _since(since)
    with services() as built:
        for entry in built.audit.scan(since=start):
            sys.stdout.write(json.dumps(entry.to_json(), ensure_ascii=False, sort_keys=True)
                             + "\n")


@audit_group.command("checkpoint")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"origin", "seq", "hash", "time", "jws"} (keep it as the file for '
                   "`verify --checkpoint`).")
def checkpoint(as_json: bool) -> None:
    """Sign the current head with the IdP's key (stored too) and print the checkpoint."""
    from idp.audit import checkpoints
    from idp.audit.errors import BrokenChainError

    with services() as built:
        try:
            made = checkpoints.create(built.audit, built.keys)
        except BrokenChainError as error:
            raise Refused(f"not signed: audit log broken at {error.description}") from error
    if as_json:
        echo_json(made.to_json())
    else:
        click.echo(f"checkpoint of {made.origin} at seq {made.seq}, hash {made.hash}, "
                   f"{made.time}\n{made.jws}")


@audit_group.command("prune")
@click.option("--before", "before_text", default=None,
              help="Delete the entries written before this time (ISO 8601, UTC if no offset; "
                   "a date means its midnight UTC).")
@click.option("--keep-days", type=click.IntRange(min=1), default=None,
              help="Or: keep the last N days (the cut is N days before now).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (cron).")
@click.option("--json", "as_json", is_flag=True,
              help='Print the prune checkpoint (the file for `verify --checkpoint`: archive it) '
                   'with "deleted" and "first" (the seq the log now starts at).')
def prune(before_text: str | None, keep_days: int | None, yes: bool, as_json: bool) -> None:
    """Delete old entries behind a signed prune checkpoint; verify then starts after it.

    Export and archive the entries first (`idp audit export`): docs/operations.md, "Audit log",
    Retention."""
    from idp.audit import retention
    from idp.audit.errors import AuditError

    if (before_text is None) == (keep_days is None):
        raise click.UsageError("give --before TIME or --keep-days N")
    before = (_time(before_text, "--before") if before_text is not None
              else datetime.now(UTC) - timedelta(days=keep_days or 0))
    if before > datetime.now(UTC):
        raise click.BadParameter("the cut is in the future", param_hint="--before")
    if not yes:
        click.confirm(f"Delete the audit entries written before {before.isoformat()}?",
                      abort=True, err=True)
    with services() as built:
        try:
            done = retention.prune(built.audit, built.keys, before)
        except AuditError as error:
            raise Refused(f"not pruned: {error.description}") from error
    made = done.checkpoint.to_json() if done.checkpoint else None
    if as_json:
        echo_json({**(made or {}), "deleted": done.deleted, "first": done.first})
    elif made is None or done.deleted == 0:
        click.echo(f"nothing to prune: no entry is older than the cut (the log starts at seq "
                   f"{done.first})")
    else:
        click.echo(f"pruned {done.deleted} entries: the log starts at seq {done.first}, "
                   f"anchored to the prune checkpoint of seq {made['seq']} (hash "
                   f"{made['hash']})\n{made['jws']}")


def _checkpoint(path: Path, keys: Any) -> Any:
    from idp.audit import checkpoints

    text = path.read_text(encoding="utf-8").strip()
    try:
        value = json.loads(text)
        jws = value["jws"] if isinstance(value, dict) else text
    except (ValueError, KeyError):
        jws = text  # the bare JWS
    return checkpoints.read(str(jws), keys)


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError as error:
                    raise Refused(f"{path}:{number}: not a JSON line") from error


def _since(value: str | None) -> int | datetime | None:
    if value is None:
        return None
    if value.isascii() and value.isdigit():  # str.isdigit alone takes "²"
        return int(value)
    return _time(value, "--since", "a seq (integer) or an ISO 8601 time")


def _time(value: str, option: str, expected: str = "an ISO 8601 time") -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(expected, param_hint=option) from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
