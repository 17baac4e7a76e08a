"""`idp demo --json`: prepares a fresh instance, registers and runs the simulator, the IdP and
the sample relying parties, prints one JSON line, records it in demo.json, and stops everything
on SIGTERM."""

from __future__ import annotations

import json
import socket
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from rp_examples.catalogue import available
from tests.support.sim import IDP, sim_env

ATTEMPTS = 3  # another process may take a port between our probe and the demo's bind


def _free_ports(count: int) -> int:
    """A base port P with P .. P+count-1 all free now."""
    for _ in range(100):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            base: int = first.getsockname()[1]
        if base + count > 65535:
            continue
        if all(_free(base + offset) for offset in range(count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _start(var_dir: Path, log: Path) -> tuple[subprocess.Popen[str], dict[str, Any], int]:
    """The demo, and the JSON line it printed; a new base port when a port was taken."""
    for _ in range(ATTEMPTS):
        base = _free_ports(2 + max(offset for offset, _ in available()) + 1)
        with log.open("w") as errors:
            demo = subprocess.Popen([IDP, "demo", "--base-port", str(base), "--json"],
                                    env=sim_env(var_dir, "http://127.0.0.1:1"),
                                    stdout=subprocess.PIPE, stderr=errors, text=True)
        assert demo.stdout is not None
        line = demo.stdout.readline()
        if line:
            return demo, json.loads(line), base
        demo.wait(timeout=30)
        demo.stdout.close()
        if "is in use" not in log.read_text():
            break
    raise AssertionError(f"idp demo printed nothing:\n{log.read_text()}")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_demo_prints_the_stack_and_stops_on_sigterm(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    demo, summary, base = _start(var_dir, tmp_path / "demo.log")
    try:
        assert summary["idp"] == f"http://localhost:{base}"
        assert summary["jlis"] == f"http://127.0.0.1:{base + 1}"
        assert {"shop", "age_gate", "portal", "portal_mail", "tv"} <= set(summary["rps"])
        assert summary["rps"]["shop"] == f"http://localhost:{base + 3}"
        assert summary["admin"]["url"] == f"{summary['idp']}/admin/"
        enrol = requests.get(summary["admin"]["enroll_url"], timeout=5)
        assert enrol.status_code == 200  # a live one-time URL of the demo's administrator
        for url in (summary["idp"], summary["jlis"]):
            assert requests.get(f"{url}/healthz", timeout=5).json()["status"] == "ok"
        for url in summary["rps"].values():
            assert requests.get(f"{url}/whoami", timeout=5).json()["logged_in"] is False
        # Each RP knows its client: its login goes to the IdP with its client_id.
        to_idp = requests.get(f"{summary['rps']['shop']}/login", allow_redirects=False,
                              timeout=10).headers["Location"]
        assert to_idp.startswith(f"{summary['idp']}/authorize?")
        # The TV is a device client: its login shows a code from the IdP on its screen.
        tv = requests.Session()
        screen = tv.get(f"{summary['rps']['tv']}/login", timeout=10)
        assert screen.url == f"{summary['rps']['tv']}/screen"
        shown = tv.get(f"{summary['rps']['tv']}/screen/status", timeout=10).json()
        assert shown["status"] == "waiting"
        assert shown["verification_uri"] == f"{summary['idp']}/device"
        assert shown["user_code"] in screen.text
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
        recorded = json.loads((var_dir / "demo.json").read_text())
        assert recorded["idp"] == summary["idp"]
        assert recorded["residents"] == summary["residents"]
        listed = {rp["name"]: rp for rp in recorded["rps"]}
        assert listed["age_gate"]["url"] == summary["rps"]["age_gate"]
        assert listed["shop"]["title"] == {"ja": "テストショップ", "en": "Test Shop"}
        assert listed["portal"]["shows"]["en"]
        credentials = var_dir / "secrets" / "rp-clients.json"
        assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
        assert json.loads(credentials.read_text())["shop"]["client_secret"]
    finally:
        demo.terminate()
        status = demo.wait(timeout=30)
        if demo.stdout is not None:
            demo.stdout.close()
    assert status == 0
    for url in (summary["jlis"], summary["rps"]["shop"]):
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{url}/healthz", timeout=2)
