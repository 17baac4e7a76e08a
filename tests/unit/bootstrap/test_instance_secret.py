"""Instance secrets (var/secrets/): made once, the same for every process of the instance.

Several workers start at once on a fresh var/ (``idp serve --workers 2`` builds one app per
worker): every one of them must get the one secret, never the empty file of a process still
writing it (a uWSGI worker once refused to start with an empty cookie key)."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path
from typing import Any

import pytest

from idp.instance import instance_secret
from idp.settings import Settings


def _secret_of(var_dir: str, start: Any) -> str:
    start.wait()  # a Manager's Barrier: every process asks at the same moment
    return instance_secret(Settings(var_dir=Path(var_dir)), "flask-secret")


def test_processes_starting_together_all_get_the_one_whole_secret(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    processes = 6
    with context.Pool(processes) as pool, context.Manager() as manager:
        for turn in range(25):
            var_dir = tmp_path / str(turn)
            start = manager.Barrier(processes)
            values = pool.starmap(_secret_of, [(str(var_dir), start)] * processes)
            assert len(set(values)) == 1, f"turn {turn}: {values}"
            assert len(values[0]) >= 40
            assert (var_dir / "secrets" / "flask-secret").read_text() == values[0]


def test_a_secret_is_made_once_kept_private_and_read_back(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    first = instance_secret(settings, "pairwise-salt")
    assert instance_secret(settings, "pairwise-salt") == first
    assert instance_secret(settings, "flask-secret") != first
    path = tmp_path / "secrets" / "pairwise-salt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["flask-secret", "pairwise-salt"]


def test_an_empty_secret_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "flask-secret").write_text("\n")
    with pytest.raises(RuntimeError, match=r"flask-secret is empty: remove it"):
        instance_secret(Settings(var_dir=tmp_path), "flask-secret")
