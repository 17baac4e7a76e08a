"""The recheck benchmark measures what it claims: the changes it times are the ones it staged,
and each owes the events its consenting relying parties with a stream should get."""

from __future__ import annotations

import shutil
from pathlib import Path

from bench.recheck import run_scenario
from bench.recheck_world import build_world


def test_a_small_world_records_exactly_the_new_changes_and_owes_their_events(
        tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    world = build_world(var_dir, f"sqlite:///{var_dir / 'idp.sqlite3'}", anchors=400,
                        revoked=300, changed=20)
    pristine = tmp_path / "pristine.sqlite3"
    shutil.copy(var_dir / "idp.sqlite3", pristine)
    assert (len(world.moved), len(world.lost)) == (10, 10)
    few = run_scenario(world, pristine, fresh=4, runs=1)
    everyone = run_scenario(world, pristine, fresh=20, runs=1)
    # a move owes a revoked credential and a lower level; a lost card also the account
    # disabled: to the push stream and the poll stream (the third relying party has none)
    assert (few.changes, few.owed) == (4, 2 * (2 * 2 + 2 * 3))
    assert (everyone.changes, everyone.owed) == (20, 2 * (10 * 2 + 10 * 3))
    assert everyone.wall[0] > 0


def test_the_whole_command_is_timed_on_the_staged_changes(tmp_path: Path) -> None:
    from bench.recheck import time_command

    var_dir = tmp_path / "var"
    world = build_world(var_dir, f"sqlite:///{var_dir / 'idp.sqlite3'}", anchors=100,
                        revoked=50, changed=10)
    pristine = tmp_path / "pristine.sqlite3"
    shutil.copy(var_dir / "idp.sqlite3", pristine)
    assert time_command(world, pristine, fresh=6) > 0  # raises unless it found exactly 6
