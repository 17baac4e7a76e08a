"""An in-process simulator per test on a copy of one bootstrapped database, with a settable clock.

Making the CA generations costs a dozen RSA keys, so it happens once per session; each test gets
its own copy of that database.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from idp.settings import Settings
from trust.jlis_sim import residents, verifiers
from trust.jlis_sim.api import create_sim_app
from trust.jlis_sim.store import Sim, open_sim

SIM_URL = "http://sim.test"
START = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    moment: datetime = START

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture(scope="session")
def _bootstrapped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    var_dir = tmp_path_factory.mktemp("sim-template") / "var"
    sim = open_sim(Settings(var_dir=var_dir))
    sim.sessions.kw["bind"].dispose()
    return var_dir / "sim"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim_settings(tmp_path: Path, _bootstrapped: Path) -> Settings:
    shutil.copytree(_bootstrapped, tmp_path / "var" / "sim")
    return Settings(var_dir=tmp_path / "var", sim={"url": SIM_URL})


@pytest.fixture
def sim(sim_settings: Settings, clock: FakeClock) -> Iterator[Sim]:
    opened = open_sim(sim_settings, clock)
    yield opened
    opened.sessions.kw["bind"].dispose()


@pytest.fixture
def add_person(sim: Sim, tmp_path: Path) -> Any:
    """``add_person(birth=date(...), **overrides)`` → the contract's JSON for a new resident."""
    def add(birth: date = date(1980, 2, 17), name: str = "山田 太郎", **overrides: Any) -> Any:
        card = tmp_path / f"card-{name.replace(' ', '')}-{birth}.json"
        new = residents.NewResident(**({
            "name": name, "birth_date": birth, "sex": 1, "address": "東京都千代田区永田町1-7-1",
            "card_file": card} | overrides))
        return residents.add(sim, new)
    return add


@pytest.fixture
def client(sim_settings: Settings, sim: Sim) -> FlaskClient:
    return create_sim_app(sim_settings, sim).test_client()


@pytest.fixture
def api_key(sim: Sim) -> str:
    return verifiers.register(sim, "test verifier")["api_key"]
