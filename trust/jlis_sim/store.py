"""Opening the simulator's database: engine, sessions, schema and CA bootstrap, and the clock.

The database lives in ``{var_dir}/sim/sim.sqlite3``. Not production: the schema is created with
``metadata.create_all`` (no migrations) and the CA generations on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from idp import db
from idp.settings import Settings
from trust.jlis_sim import ca
from trust.jlis_sim.models import SimBase

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def to_db(moment: datetime) -> datetime:
    """Stored as naive UTC (SQLite has no time zones)."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def from_db(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dataclass(frozen=True)
class Sim:
    """The simulator's services: one database, the public URL, the CRL period and a clock."""

    sessions: sessionmaker[Session]
    base_url: str
    crl_period_seconds: int = 24 * 3600
    clock: Clock = field(default=utc_now)

    def now(self) -> datetime:
        return self.clock()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with db.transaction(self.sessions) as session:
            yield session


def open_sim(settings: Settings, clock: Clock = utc_now) -> Sim:
    """Open (creating when missing) the simulator of this instance."""
    settings.sim_dir.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(f"sqlite:///{(settings.sim_dir / 'sim.sqlite3').resolve()}")
    SimBase.metadata.create_all(engine)
    sim = Sim(db.make_sessionmaker(engine), settings.sim.url,
              settings.sim.crl_period_seconds, clock)
    try:
        with sim.transaction() as session:
            ca.bootstrap(session)
    except IntegrityError:  # another process bootstrapped at the same moment: use its CAs
        pass
    return sim
