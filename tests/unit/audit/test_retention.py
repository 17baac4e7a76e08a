"""Retention: pruning entries older than a date behind a signed prune checkpoint. The kept part
is verified from the entry after it and still betrays an edit, a removal (the front included)
or a reorder; an export archived before the prune, with the prune checkpoint, proves the
archive and the database one chain."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from idp.audit import checkpoints, retention
from idp.audit.entries import Entry
from idp.audit.errors import BadCheckpointError, BrokenChainError
from idp.audit.log import AuditLog
from idp.audit.models import AuditRow
from idp.cli import cli
from idp.oidc.keys import KeyStore
from idp.settings import Settings
from tests.unit.audit.support import filled, keys, tamper


def _cut() -> datetime:
    """Now, strictly after the entries written so far and before the next ones."""
    time.sleep(0.002)
    moment = datetime.now(UTC)
    time.sleep(0.002)
    return moment


def _more(log: AuditLog, count: int) -> None:
    for number in range(count):
        log.record("logout", actor=f"person:later-{number}")


def _pruned(sessions: sessionmaker[Session], tmp_path: Path) -> tuple[AuditLog, KeyStore,
                                                                        list[Entry]]:
    """A log of 3 old entries and 2 newer ones, pruned at the cut: what was exported before."""
    log, signer = filled(sessions, 3), keys(tmp_path / "keys")
    cut = _cut()
    _more(log, 2)
    archived = list(log.scan())
    done = retention.prune(log, signer, cut)
    assert (done.deleted, done.first) == (3, 4)
    assert done.checkpoint is not None
    assert (done.checkpoint.seq, done.checkpoint.hash) == (3, archived[2].hash)
    return log, signer, archived


def test_a_prune_deletes_the_older_entries_and_verify_starts_after_its_checkpoint(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    log, signer, archived = _pruned(sessions, tmp_path)
    kept = log.entries(limit=None)
    assert [e.seq for e in kept] == [4, 5, 6]
    assert kept[0].prev_hash == archived[2].hash
    pruned = kept[-1]
    assert (pruned.action, pruned.actor) == ("audit.pruned", "system")
    assert (pruned.details["through"], pruned.details["deleted"]) == (3, 3)
    chain = checkpoints.verify_log(log, signer)
    assert (chain.first, chain.size, chain.head) == (4, 6, pruned.hash)
    # Checkpoints go on from the prune checkpoint; appends too.
    assert checkpoints.create(log, signer).seq == 6
    _more(log, 1)
    assert checkpoints.verify_log(log, signer).size == 7
    # Nothing older than a cut already pruned: nothing to do.
    again = retention.prune(log, signer, datetime.now(UTC) - timedelta(days=1))
    assert (again.deleted, again.first) == (0, 4)


def test_the_kept_part_still_betrays_an_edit_a_removal_and_a_reorder(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    log, signer, _ = _pruned(sessions, tmp_path)
    tamper(sessions, "UPDATE audit_log SET actor = 'person:someone' WHERE seq = 5")
    with pytest.raises(BrokenChainError, match="entry 5: edited"):
        checkpoints.verify_log(log, signer)
    tamper(sessions, "UPDATE audit_log SET actor = 'person:later-1' WHERE seq = 5",
           "UPDATE audit_log SET seq = 99 WHERE seq = 4",
           "UPDATE audit_log SET seq = 4 WHERE seq = 5",
           "UPDATE audit_log SET seq = 5 WHERE seq = 99")
    with pytest.raises(BrokenChainError, match="entry 4"):
        checkpoints.verify_log(log, signer)


def test_removing_kept_entries_from_the_front_is_detected(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    """The signed floor says where the log starts: deleting its first kept entries is not a
    prune, even though the rest still chains on."""
    log, signer, _ = _pruned(sessions, tmp_path)
    tamper(sessions, "DELETE FROM audit_log WHERE seq = 4")
    with pytest.raises(BrokenChainError, match="entry 4: missing"):
        checkpoints.verify_log(log, signer)


def test_the_prune_record_cannot_be_removed_nor_forged(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    log, signer, _ = _pruned(sessions, tmp_path)
    sqlite = sessions.kw["bind"].dialect.name == "sqlite"
    unguard = ("DROP TRIGGER IF EXISTS audit_prunes_no_delete" if sqlite else
               "DROP TRIGGER IF EXISTS audit_prunes_append_only ON audit_prunes")
    # A plain checkpoint of a later entry put in the prune table does not move the floor.
    plain = checkpoints.create(log, signer)
    with sessions() as db, db.begin():
        db.execute(text("INSERT INTO audit_prunes (seq, hash, before, time, jws) VALUES "
                        "(:seq, :hash, 'x', 'x', :jws)"),
                   {"seq": plain.seq, "hash": plain.hash, "jws": plain.jws})
    with pytest.raises(BadCheckpointError, match="not a signed prune checkpoint"):
        checkpoints.verify_log(log, signer)
    # Without any prune record, the log must start at seq 1 again: the deletion shows.
    tamper(sessions, unguard, "DELETE FROM audit_prunes")
    with pytest.raises(BrokenChainError, match="entry 1: missing"):
        checkpoints.verify_log(log, signer)


def test_the_database_refuses_deleting_entries_not_behind_a_prune(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    log, _signer, _ = _pruned(sessions, tmp_path)
    with pytest.raises(DBAPIError, match="append-only"), sessions() as db, db.begin():
        db.execute(delete(AuditRow).where(AuditRow.seq == 4))
    with pytest.raises(DBAPIError, match="append-only"), sessions() as db, db.begin():
        db.execute(text("DELETE FROM audit_prunes"))
    assert [e.seq for e in log.entries(limit=None)] == [4, 5, 6]


def test_an_archive_exported_before_the_prune_and_the_database_are_one_chain(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    log, signer, archived = _pruned(sessions, tmp_path)
    [prune] = [checkpoints.read(row.jws, signer) for row in [_prune_row(sessions)]]
    assert prune.prune_before is not None
    assert checkpoints.prove_extends(prune, archived).size == 5  # the archive reaches it
    assert checkpoints.prove_extends(prune, log.scan()).first == 4  # the database goes on
    # A checkpoint held from before the prune: proven by the archive, not the database.
    older = checkpoints.Checkpoint(prune.origin, 2, archived[1].hash, prune.time, prune.jws)
    with pytest.raises(BadCheckpointError, match="pruned"):
        checkpoints.verify_log(log, signer, older)
    forged = [e.to_json() for e in archived]
    forged[0]["details"] = {"method": "card"}
    with pytest.raises(BadCheckpointError):
        checkpoints.prove_extends(prune, (Entry.from_json(e) for e in forged))


def test_a_broken_log_is_never_pruned(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    log, signer = filled(sessions, 3), keys(tmp_path / "keys")
    cut = _cut()
    _more(log, 1)
    tamper(sessions, "UPDATE audit_log SET outcome = 'refused' WHERE seq = 2")
    with pytest.raises(BrokenChainError, match="entry 2"):
        retention.prune(log, signer, cut)
    assert len(log.entries(limit=None)) == 4


def _prune_row(sessions: sessionmaker[Session]) -> object:
    from idp.audit.models import PruneRow

    with sessions() as db:
        return db.get_one(PruneRow, 3)


def test_idp_audit_prune_then_verify(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                     tmp_path: Path) -> None:
    from idp.bootstrap import Services

    monkeypatch.setenv("IDP_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("IDP_DATABASE_URL", settings.database_url or "")
    runner = CliRunner()
    built = Services.build(settings)
    try:
        for number in range(3):
            built.audit.record("login.passkey", actor=f"person:pid-{number}")
        cut = _cut()
        built.audit.record("logout", actor="person:pid-0")
        archive = tmp_path / "archive.jsonl"
        archive.write_text(runner.invoke(cli, ["audit", "export"]).stdout)
        assert runner.invoke(cli, ["audit", "prune"]).exit_code == 2  # a cut is needed
        assert runner.invoke(cli, ["audit", "prune", "--before", "2999-01-01",
                                   "--yes"]).exit_code == 2
        assert runner.invoke(cli, ["audit", "prune", "--before", cut.isoformat()],
                             input="n\n").exit_code == 1  # not confirmed: nothing deleted
        assert len(built.audit.entries(limit=None)) == 4
        done = runner.invoke(cli, ["audit", "prune", "--before", cut.isoformat(), "--yes",
                                   "--json"])
        assert done.exit_code == 0, done.output
        answer = json.loads(done.stdout)
        assert (answer["deleted"], answer["first"], answer["seq"]) == (3, 4, 3)
        assert answer["prune"] is True
        prune_file = tmp_path / "prune.json"
        prune_file.write_text(done.stdout)  # as archived
        verified = runner.invoke(cli, ["audit", "verify", "--json"])
        assert verified.exit_code == 0, verified.output
        assert (json.loads(verified.stdout)["first"], json.loads(verified.stdout)["size"]) == (
            4, 5)
        assert runner.invoke(cli, ["audit", "verify", "--checkpoint", str(prune_file),
                                   "--export", str(archive)]).exit_code == 0
        assert runner.invoke(cli, ["audit", "verify", "--checkpoint",
                                   str(prune_file)]).exit_code == 0
        assert runner.invoke(cli, ["audit", "prune", "--keep-days", "30", "--yes"]).stdout \
            .startswith("nothing to prune")
    finally:
        built.close()
