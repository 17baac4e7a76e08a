"""A running J-LIS simulator for tests: `idp sim serve` as a real subprocess on a free port.

Use the ``sim_server`` fixture (module scope: one simulator per test module) by importing it into
your test module or conftest::

    from tests.support.sim import sim_server  # noqa: F401  (pytest fixture)

    def test_something(sim_server: RunningSim) -> None:
        person = sim_server.cli("person", "add", "--name", "山田 太郎", "--birth", "1980-02-17",
                                "--sex", "1", "--address", "東京都千代田区永田町1-7-1",
                                "--card", str(sim_server.var_dir / "cards" / "taro.json"))
        requests.get(f"{sim_server.url}/v1/crl/sign-card-2023", headers=sim_server.headers)

or, outside pytest, ``with running_sim(var_dir) as sim: ...``. ``sim.cli(...)`` runs
``idp sim ... --json`` against the same instance and returns the parsed JSON (it raises
``SimCommandError`` with stderr on a non-zero exit); ``sim.settings`` are Settings for in-process
code (e.g. IdP components pointed at this simulator).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from idp.settings import Settings

IDP = str(Path(sys.executable).parent / "idp")
START_TIMEOUT_SECONDS = 15.0


class SimCommandError(RuntimeError):
    """An `idp sim` command exited non-zero."""

    def __init__(self, args: list[str], result: subprocess.CompletedProcess[str]) -> None:
        super().__init__(f"idp {' '.join(args)} exited {result.returncode}: "
                         f"{result.stderr.strip()}")
        self.returncode = result.returncode
        self.stderr = result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningSim:
    """A simulator subprocess, with one registered verifier."""

    url: str
    var_dir: Path
    env: dict[str, str]
    api_key: str = ""
    verifier_id: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def headers(self) -> dict[str, str]:
        """``Authorization: Bearer <api_key>`` of the registered verifier."""
        return {"Authorization": f"Bearer {self.api_key}"}

    @property
    def settings(self) -> Settings:
        return Settings(var_dir=self.var_dir, sim={"url": self.url},
                        jlis={"url": self.url, "api_key": self.api_key})

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``idp sim ARGS`` (no --json added); the completed process, whatever its status."""
        return subprocess.run([IDP, "sim", *args], env=self.env, capture_output=True, text=True,
                              timeout=60, check=False)

    def cli(self, *args: str) -> Any:
        """``idp sim ARGS --json`` → the parsed JSON; SimCommandError on a non-zero exit."""
        result = self.run(*args, "--json")
        if result.returncode != 0:
            raise SimCommandError(["sim", *args], result)
        return json.loads(result.stdout)

    def add_person(self, name: str, birth: str, card: Path, *, sex: str = "1",
                   address: str = "東京都千代田区永田町1-7-1", extra: tuple[str, ...] = ()) -> Any:
        return self.cli("person", "add", "--name", name, "--birth", birth, "--sex", sex,
                        "--address", address, "--card", str(card), *extra)


def sim_env(var_dir: Path, url: str, **extra: str) -> dict[str, str]:
    """The environment of an `idp` subprocess on this instance (no developer IDP_* leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update(IDP_VAR_DIR=str(var_dir), IDP_SIM__URL=url,
               IDP_CONFIG=str(var_dir / "no-config.toml"), **extra)
    return env


@contextmanager
def running_sim(var_dir: Path, *, crl_period_seconds: int | None = None) -> Iterator[RunningSim]:
    """Start `idp sim serve` on a free port for ``var_dir``, register a verifier, stop at exit."""
    var_dir.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{free_port()}"
    extra = {} if crl_period_seconds is None else {
        "IDP_SIM__CRL_PERIOD_SECONDS": str(crl_period_seconds)}
    sim = RunningSim(url=url, var_dir=var_dir, env=sim_env(var_dir, url, **extra))
    # Registering first also creates the database and the CAs, before the server opens them.
    verifier = sim.cli("verifier", "add", "tests")
    sim.api_key, sim.verifier_id = verifier["api_key"], verifier["verifier_id"]
    sim.process = subprocess.Popen([IDP, "sim", "serve"], env=sim.env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_healthy(sim)
        yield sim
    finally:
        sim.process.terminate()
        try:
            sim.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sim.process.kill()
            sim.process.wait()


def _wait_healthy(sim: RunningSim) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert sim.process is not None
        if sim.process.poll() is not None:
            raise RuntimeError(f"idp sim serve exited with {sim.process.returncode}")
        try:
            if requests.get(f"{sim.url}/healthz", timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"idp sim serve did not answer {sim.url}/healthz in time")


@pytest.fixture(scope="module")
def sim_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSim]:
    """One running simulator per test module, in its own IDP_VAR_DIR, with a verifier key."""
    with running_sim(tmp_path_factory.mktemp("sim") / "var") as sim:
        yield sim
