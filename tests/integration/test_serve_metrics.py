"""`idp serve` with two workers (gunicorn, and uWSGI): ``/metrics`` adds up every worker's
counts (Prometheus multi-process mode, files under ``{var_dir}/metrics``); under gunicorn it keeps
a dead worker's counts and drops its live gauges, and every answer carries its request id, which
the request's JSON log line names."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

IDP = str(Path(sys.executable).parent / "idp")
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(params=["gunicorn", "uwsgi"])
def served(request: pytest.FixtureRequest,
           tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    port = _free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("IDP_")},
           "IDP_VAR_DIR": str(tmp_path), "IDP_CONFIG": "/dev/null",
           "IDP_OIDC__ISSUER": f"http://127.0.0.1:{port}"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    subprocess.run([IDP, "db", "upgrade"], env=env, check=True, capture_output=True)
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "counter_999999.db").write_bytes(b"stale")  # an earlier run's
    log = (tmp_path / "stderr.log").open("wb")  # a file: a full pipe would stall the workers
    process = subprocess.Popen([IDP, "serve", "--server", request.param, "--host", "127.0.0.1",
                                "--port", str(port), "--workers", "2", "--threads", "2"],
                               env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"{base}/healthz", timeout=10)
                break
            except requests.RequestException:  # not listening yet, or a worker still starting
                time.sleep(0.2)
        else:
            pytest.fail("idp serve never answered /healthz")
        yield process, base, tmp_path
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        log.close()
        print(f"idp serve --server {request.param} said:\n{_server_says(tmp_path)}")  # on failure


def _server_says(var_dir: Path) -> str:
    """The server's own lines on stderr (not the JSON request log): shown when a test fails."""
    lines = (var_dir / "stderr.log").read_text(errors="replace").splitlines()
    return "\n".join(line for line in lines if not line.startswith("{"))[-20000:]


def _worker_pids(var_dir: Path) -> set[int]:
    return {int(m.group(1)) for path in (var_dir / "metrics").glob("counter_*.db")
            if (m := re.fullmatch(r"counter_(\d+)\.db", path.name))}


def _healthz_count(base: str) -> float:
    answer = requests.get(f"{base}/metrics", timeout=20)
    assert answer.status_code == 200, answer.text
    return sum(sample.value for family in text_string_to_metric_families(answer.text)
               for sample in family.samples
               if sample.name == "idp_http_requests_total"
               and sample.labels == {"method": "GET", "status": "200"})


def test_two_workers_are_scraped_as_one_and_log_json_with_the_request_id(
        served: tuple[subprocess.Popen[bytes], str, Path]) -> None:
    process, base, var_dir = served
    assert not (var_dir / "metrics" / "counter_999999.db").exists()
    sent, deadline = 0, time.monotonic() + 60
    while len(_worker_pids(var_dir)) < 2 and time.monotonic() < deadline:
        answer = requests.get(f"{base}/healthz", timeout=20, headers={"Connection": "close"})
        sent += 1
        assert answer.headers["X-Request-Id"]
    pids = _worker_pids(var_dir)
    assert len(pids) == 2, "the second worker never served a request"
    first = _healthz_count(base)
    assert first >= sent
    counts = [_healthz_count(base) for _ in range(6)]  # whichever worker answers
    assert counts == [first + n for n in range(1, 7)]

    traced = requests.get(f"{base}/.well-known/openid-configuration", timeout=20,
                          headers={"X-Request-Id": "serve-trace-7"})
    assert traced.headers["X-Request-Id"] == "serve-trace-7"
    if "gunicorn" in str(process.args):  # uWSGI has no child_exit hook
        _a_dead_worker_keeps_its_counts(base, var_dir, pids, counts[-1])
    process.terminate()
    process.wait(timeout=30)
    lines = [json.loads(line) for line in (var_dir / "stderr.log").read_text().splitlines()
             if line.startswith("{")]
    line = next(line for line in lines if line.get("request_id") == "serve-trace-7")
    assert line["http"]["path"] == "/.well-known/openid-configuration"
    assert line["http"]["status"] == 200


def _a_dead_worker_keeps_its_counts(base: str, var_dir: Path, pids: set[int],
                                    counted: float) -> None:
    """A worker that dies keeps its counts; its live gauges (breaker states) leave the scrape."""
    victim = min(pids)
    live = var_dir / "metrics" / f"gauge_livemax_{victim}.db"
    live.write_bytes(b"")
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while live.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not live.exists()
    assert _healthz_count(base) >= counted + 1
