"""Signed checkpoints and the `idp audit` commands: a later export provably extends a held
checkpoint; a rewritten history, a forged checkpoint or a tampered row is refused (exit 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from idp.audit import checkpoints
from idp.audit.entries import Entry
from idp.audit.errors import BadCheckpointError
from idp.cli import cli
from idp.settings import Settings
from tests.unit.audit.support import filled, keys, tamper


@pytest.fixture
def instance(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """`idp` in process on the parametrised database of a throwaway instance."""
    monkeypatch.setenv("IDP_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("IDP_DATABASE_URL", settings.database_url or "")
    return settings


def idp(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_a_checkpoint_proves_a_later_export_extends_it(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    log, signer = filled(sessions, 3), keys(tmp_path / "keys")
    held = checkpoints.read(checkpoints.create(log, signer).jws, signer)
    for _ in range(4):
        log.record("token.issued", actor="rp:client-1", details={"grant_type": "refresh_token"})
    chain = checkpoints.prove_extends(held, log.scan(since=held.seq))
    assert (held.seq, chain.first, chain.size) == (3, 3, 7)
    # An export may start right after the checkpoint: its first entry names the signed hash.
    assert checkpoints.prove_extends(held, log.scan(since=4)).first == 4
    with pytest.raises(BadCheckpointError, match="reach back"):
        checkpoints.prove_extends(held, log.scan(since=5))
    assert checkpoints.create(log, signer).seq == 7
    assert [c.seq for c in checkpoints.stored(log, signer)] == [3, 7]


def test_a_checkpoint_refuses_a_rewritten_history_and_another_key(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    log, signer = filled(sessions, 3), keys(tmp_path / "keys")
    held = checkpoints.create(log, signer)
    exported = [e.to_json() for e in log.scan(since=2)]
    exported[1]["details"] = {"method": "card", "level": 3}
    with pytest.raises(BadCheckpointError, match="seq 3"):
        checkpoints.prove_extends(held, (Entry.from_json(e) for e in exported))
    with pytest.raises(BadCheckpointError, match="reach back"):
        checkpoints.prove_extends(held, log.scan(since=4))
    with pytest.raises(BadCheckpointError, match="not signed"):
        checkpoints.read(held.jws, keys(tmp_path / "other-keys"))


def test_idp_audit_checkpoint_export_and_verify(instance: Settings, tmp_path: Path) -> None:
    from idp.bootstrap import Services

    built = Services.build(instance)
    try:
        for number in range(3):
            built.audit.record("login.passkey", actor=f"person:pid-{number}")
        code, out, _ = idp("audit", "checkpoint", "--json")
        assert code == 0
        checkpoint_file = tmp_path / "checkpoint.json"
        checkpoint_file.write_text(out)
        assert json.loads(out)["seq"] == 3
        built.audit.record("logout", actor="person:pid-0")
        code, out, _ = idp("audit", "export", "--since", "3")
        assert code == 0
        assert [json.loads(line)["seq"] for line in out.splitlines()] == [3, 4]
        export_file = tmp_path / "export.jsonl"
        export_file.write_text(out)
        assert idp("audit", "verify", "--checkpoint", str(checkpoint_file), "--export",
                   str(export_file))[0] == 0
        assert idp("audit", "verify", "--checkpoint", str(checkpoint_file))[0] == 0
        # Offline, by someone who saved /jwks: no instance needed.
        jwks, other = tmp_path / "jwks.json", tmp_path / "other-jwks.json"
        jwks.write_text(json.dumps(built.keys.jwks()))
        other.write_text(json.dumps(keys(tmp_path / "other-keys").jwks()))
        offline = ["audit", "verify", "--checkpoint", str(checkpoint_file), "--export",
                   str(export_file), "--jwks"]
        assert idp(*offline, str(jwks))[:2] == (0, f"audit log intact: entries 3..4, head "
                                                   f"{json.loads(out.splitlines()[-1])['hash']}\n")
        code, _, err = idp(*offline, str(other))
        assert (code, "not signed by" in err) == (1, True)
        assert idp("audit", "verify")[0] == 0

        export_file.write_text(out.replace("pid-0", "pid-9"))
        assert idp("audit", "verify", "--checkpoint", str(checkpoint_file), "--export",
                   str(export_file))[0] == 1
        tamper(built.sessions, "UPDATE audit_log SET actor = 'person:someone' WHERE seq = 2")
        code, _, err = idp("audit", "verify")
        assert code == 1
        bad, message = err.splitlines()
        assert json.loads(bad)["seq"] == 2
        assert "entry 2: edited" in message
        # A checkpoint checks the entries since the last one: it never signs a head that does
        # not extend what it signed before.
        tamper(built.sessions, "UPDATE audit_log SET outcome = 'refused' WHERE seq = 4")
        code, _, err = idp("audit", "checkpoint")
        assert (code, "entry 4: edited" in err) == (1, True)
    finally:
        built.close()


def test_export_since_a_time(instance: Settings) -> None:
    from idp.bootstrap import Services

    built = Services.build(instance)
    try:
        built.audit.record("logout", actor="person:pid-0")
        assert idp("audit", "export", "--since", "2000-01-01T00:00:00")[1].count("\n") == 1
        assert idp("audit", "export", "--since", "2999-01-01T00:00:00+09:00")[1] == ""
        assert idp("audit", "export", "--since", "yesterday")[0] == 2
    finally:
        built.close()
