"""The pieces of ``python -m bench login``'s ratio: the trivial app, the workers' CPU from /proc,
and the row that divides them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bench.login import (
    Row,
    _database,
    _round_ratio,
    _table,
    _transactions,
    cpu_seconds,
    workers_of,
)
from bench.trivial import make_app


def test_the_trivial_request_reads_the_json_body_and_keeps_the_session_cookie() -> None:
    client = make_app().test_client()
    first = client.post("/echo", json={"x": 1})
    assert first.get_json() == {"ok": True, "n": 1, "echo": 1}
    assert "session=" in first.headers["Set-Cookie"]
    assert client.post("/echo", json={"x": 2}).get_json()["n"] == 2  # the cookie came back


def test_cpu_seconds_counts_the_work_of_a_process() -> None:
    before = cpu_seconds([os.getpid()])
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        pass
    assert cpu_seconds([os.getpid()]) - before >= 0.1
    assert cpu_seconds([2**22 + 12345]) == 0  # a process that is gone counts nothing


def test_the_workers_of_a_server_are_its_child_processes() -> None:
    parent = subprocess.Popen([sys.executable, "-c",
                               "import subprocess, sys, time; "
                               "c = subprocess.Popen([sys.executable, '-c', "
                               "'import time; time.sleep(30)']); print(c.pid, flush=True); "
                               "time.sleep(30)"], stdout=subprocess.PIPE, text=True)
    with parent:
        try:
            assert parent.stdout is not None
            child = int(parent.stdout.readline())
            assert workers_of(parent.pid) == [child]
        finally:
            for pid in workers_of(parent.pid):
                os.kill(pid, 15)
            parent.terminate()
            parent.wait(timeout=10)


def test_the_ratio_is_the_cpu_per_login_over_the_cpu_per_trivial_request() -> None:
    row = Row("this checkout", "gunicorn", 2, 4, 3, 100, 10.0, 50.0, 90.0,
              dict.fromkeys(("authorize", "interaction", "passkey_options", "authenticator",
                             "passkey_verify", "to_code", "token", "userinfo"), 1.0),
              14.0, cpu_ms=30.0, trivial_cpu_ms=1.5, round_ratios=(19.5, 20.5))
    assert row.ratio == 20.0
    assert "| this checkout | gunicorn | 2 × 4 | 100 | 10.0 |" in _table([row])
    assert "| **20.0×** | 19.5, 20.5 | 14.0 |" in _table([row])


def test_a_round_s_ratio_is_its_own_login_phase_over_its_own_trivial_phase() -> None:
    """50 logins on 0.6 s of worker CPU (12 ms each) against 1,000 trivial requests on 1.0 s
    (1 ms each): 12×, whatever the other rounds measured."""
    logins = [{"authorize": 0.01}] * 50
    assert round(_round_ratio(logins, 0.6, 400, (1.0, 1000)), 6) == 12.0


def test_a_sqlite_run_uses_a_file_in_the_run_directory_and_counts_no_transactions(
        tmp_path: Path) -> None:
    with _database("sqlite", tmp_path) as url:
        assert url == f"sqlite:///{tmp_path / 'bench.db'}"
        assert _transactions(url) == 0
