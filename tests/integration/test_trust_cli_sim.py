"""`idp trust` as the console script, on an instance whose anchor directory holds the
simulator's exported CAs (as `idp demo` prepares it): the first version lists them enabled by
purpose, medium and generation, beside the shipped J-LIS CAs retired; a change prints its diff
and shows in the history; a refusal is one line on stderr, exit 1, nothing changed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.support.sim import IDP, RunningSim, sim_env, sim_server

__all__ = ["sim_server"]  # the fixture, re-exported for pytest


def idp(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IDP, *args], env=env, capture_output=True, text=True, timeout=60,
                          check=False)


def shown(env: dict[str, str]) -> Any:
    result = idp(env, "trust", "show", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_trust_commands_on_the_simulators_anchors(sim_server: RunningSim,
                                                      tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    assert sim_server.run("ca", "export", str(var_dir / "trust")).returncode == 0
    env = sim_env(var_dir, sim_server.url)
    assert idp(env, "db", "upgrade").returncode == 0

    first = shown(env)
    assert (first["version"], first["actor"]) == (1, "settings")
    anchors = {(a["purpose"], a["medium"], a["generation"], a["enabled"])
               for a in first["policy"]["anchors"]}
    for purpose in ("sign", "auth"):
        assert {(purpose, "card", "2019", True), (purpose, "card", "2023", True),
                (purpose, "smartphone", "2023", True), (purpose, "card", "2015", False)} \
            <= anchors  # the simulator's generations, and the real J-LIS 2015 one retired

    retired = idp(env, "trust", "anchors", "retire", "--purpose", "auth", "--medium", "card",
                  "--generation", "2019", "--reason", "old generation")
    assert retired.returncode == 0, retired.stderr
    assert retired.stdout.startswith("trust policy version 2 (")
    assert "anchors[auth/card/2019/" in retired.stdout
    assert ".enabled: true → false" in retired.stdout

    refused = idp(env, "trust", "policy", "set", "revocation.sign.method", "fax")
    assert refused.returncode == 1
    assert refused.stderr.startswith("idp: invalid trust policy: revocation.sign.method")
    assert len(refused.stderr.strip().splitlines()) == 1

    history = idp(env, "trust", "policy", "history", "--json")
    versions = json.loads(history.stdout)
    assert [(v["version"], v["reason"]) for v in versions][:1] == [(2, "old generation")]
    assert shown(env)["version"] == 2
