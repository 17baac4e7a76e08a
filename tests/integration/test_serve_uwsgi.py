"""`idp serve --server uwsgi`: the IdP answers over uWSGI's HTTP router, stops on SIGTERM, and
leaves no worker behind when its master is killed."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

IDP = str(Path(sys.executable).parent / "idp")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _group(pgid: int) -> set[int]:
    """The live processes of process group ``pgid`` (zombies are not alive)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat_line = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat_line.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":  # pgrp, state
            found.add(int(entry.name))
    return found


def test_no_worker_outlives_a_killed_master(served: tuple[Any, str, Path]) -> None:
    """A master killed outright (the OOM killer, SIGKILL) takes its workers with it: an orphaned
    worker would keep the port and a core (uWSGI's ``--no-orphans``)."""
    process, base, _ = served
    _wait(f"{base}/healthz")
    assert len(_group(process.pid)) >= 2  # the master, its worker (and the HTTP router)
    process.kill()
    process.wait(timeout=10)
    deadline = time.monotonic() + 15
    while _group(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _group(process.pid), "a uWSGI process outlived its master"


def _wait(url: str) -> requests.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    port = _free_port()
    env = {**os.environ, "IDP_VAR_DIR": str(tmp_path), "IDP_CONFIG": "/dev/null",
           "IDP_OIDC__ISSUER": f"http://127.0.0.1:{port}"}
    subprocess.run([IDP, "db", "upgrade"], env=env, check=True, capture_output=True)
    # In a session of its own: whatever happens in the test, the teardown ends the master and
    # every process it forked (a killed master's orphaned worker once spun at 88 % of a core
    # for the rest of a test run).
    process = subprocess.Popen([IDP, "serve", "--server", "uwsgi", "--host", "127.0.0.1",
                                "--port", str(port), "--workers", "1", "--threads", "2"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        yield process, f"http://127.0.0.1:{port}", tmp_path
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):  # the whole group is gone
            os.killpg(process.pid, signal.SIGKILL)


def test_uwsgi_serves_discovery_over_keep_alive(served: tuple[Any, str, Path]) -> None:
    _, base, _ = served
    assert _wait(f"{base}/healthz").status_code == 200
    with requests.Session() as session:  # one connection, reused: the router keeps it alive
        for _ in range(3):
            answer = session.get(f"{base}/.well-known/openid-configuration", timeout=5)
            assert answer.json()["issuer"] == base


def test_uwsgi_accepts_request_heads_beyond_its_4_kib_default(
        served: tuple[Any, str, Path]) -> None:
    _, base, _ = served
    _wait(f"{base}/healthz")
    answer = requests.get(f"{base}/healthz", headers={"Cookie": "c=" + "x" * 12_000}, timeout=5)
    assert answer.status_code == 200


def test_workers_listen_on_a_private_unix_socket_and_sigterm_stops_the_server(
        served: tuple[Any, str, Path]) -> None:
    process, base, var_dir = served
    _wait(f"{base}/healthz")
    run_dir = var_dir / "run"
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
    assert stat.S_ISSOCK((run_dir / "uwsgi.sock").stat().st_mode)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert not (run_dir / "uwsgi.sock").exists()
