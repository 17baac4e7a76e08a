"""`idp demo --json`: prepares a fresh instance, runs simulator and IdP, prints one JSON line,
and stops everything on SIGTERM."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest
import requests

from tests.support.sim import IDP, sim_env


def _two_free_ports() -> int:
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port: int = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port
    raise RuntimeError("no two consecutive free ports")


@pytest.mark.slow
def test_demo_prints_the_stack_and_stops_on_sigterm(tmp_path: Path) -> None:
    base = _two_free_ports()
    var_dir = tmp_path / "var"
    demo = subprocess.Popen([IDP, "demo", "--base-port", str(base), "--json"],
                            env=sim_env(var_dir, "http://127.0.0.1:1"),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert demo.stdout is not None
        summary = json.loads(demo.stdout.readline())
        assert summary["idp"] == f"http://localhost:{base}"
        assert summary["jlis"] == f"http://127.0.0.1:{base + 1}"
        assert summary["rps"] == {}
        assert summary["admin"]["url"] == f"{summary['idp']}/admin/"
        enrol = requests.get(summary["admin"]["enroll_url"], timeout=5)
        assert enrol.status_code == 200  # a live one-time URL of the demo's administrator
        for url in (summary["idp"], summary["jlis"]):
            assert requests.get(f"{url}/healthz", timeout=5).json()["status"] == "ok"
        adult, mover, child = summary["residents"]
        assert adult["sign_pin"]
        assert mover["sign_pin"]
        assert child["sign_pin"] is None
        assert Path(child["card_file"]).is_file()
        key = (var_dir / "secrets" / "jlis-api-key").read_text().strip()
        cas = requests.get(f"{summary['jlis']}/v1/cas", timeout=5,
                           headers={"Authorization": f"Bearer {key}"})
        assert cas.status_code == 200
        assert sorted(p.name for p in (var_dir / "trust" / "auth").glob("*.pem"))
    finally:
        demo.terminate()
        status = demo.wait(timeout=30)
        if demo.stdout is not None:
            demo.stdout.close()
    assert status == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{summary['jlis']}/healthz", timeout=2)
