"""`idp audit`: prove the audit log intact, export it, sign checkpoints of it."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
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
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter("a seq (integer) or an ISO 8601 time",
                                 param_hint="--since") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
