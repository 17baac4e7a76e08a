"""The audit log's cost: appends per second, and what it adds to a passkey login.

    python -m bench audit [--appends 2000] [--threads 4] [--logins 200] [--rounds 3]
                          [--people 16] [--no-write]

1. **Appends per second** (``AuditLog.record`` on its own, as the token endpoint and the J-LIS
   client write): one thread, then ``--threads`` threads, on SQLite (WAL, synchronous NORMAL, as
   the IdP runs it) and on a throwaway PostgreSQL with durable commits (fsync, synchronous
   commit on: the production setting).
2. **Cost per login**: the whole passkey login of ``bench.login`` (authorize → interaction →
   passkey options → passkey verify with the anchor re-check → token → userinfo), in process
   through Flask's test client (``bench.login_profile``): ``--logins`` logins with the audit
   log on, and as many with ``AuditLog.record`` replaced by a function that writes nothing,
   ``--rounds`` times each, alternated (on, off, off, on, ...), medians reported. A login
   writes 3 entries: the anchor re-check and the login (each inside its flow's transaction)
   and the tokens issued (a statement of its own).

Results go to stdout and to ``docs/benchmarks.md`` (section "Audit log").
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import write_section
from idp import db
from idp.audit.log import AuditLog


@dataclass(frozen=True)
class Appends:
    database: str
    threads: int
    per_second: float
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class LoginCost:
    database: str
    logins: int
    wall_on: float  # ms per login, audit on (median of the rounds)
    wall_off: float
    cpu_on: float  # ms of the app's CPU per login
    cpu_off: float
    entries: float  # audit entries per login
    inside_wall: float  # ms per login spent inside AuditLog.record (audit on)
    inside_cpu: float  # ms of CPU per login inside AuditLog.record


@contextmanager
def databases() -> Iterator[list[tuple[str, str]]]:
    """(name, URL of a fresh migrated database) for SQLite and a durable PostgreSQL."""
    from tests.support.postgres import throwaway_cluster

    with tempfile.TemporaryDirectory(prefix="bench-audit-") as base, \
            throwaway_cluster(durable=True) as cluster:
        yield [("SQLite", f"sqlite:///{base}/audit.sqlite3"),
               ("PostgreSQL 15 (durable commits)", cluster.create_database())]


def appends(name: str, url: str, count: int, threads: int) -> Appends:
    db.upgrade(url)
    engine = db.make_engine(url, pool_size=threads + 1) if not url.startswith("sqlite") \
        else db.make_engine(url)
    log = AuditLog(db.make_sessionmaker(engine), origin="bench/audit")
    for _ in range(50):
        _one(log)  # warm: connections, prepared statements
    each = count // threads
    times: list[list[float]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads + 1)

    def write(mine: list[float]) -> None:
        start.wait()
        for _ in range(each):
            began = time.perf_counter()
            _one(log)
            mine.append(time.perf_counter() - began)

    workers = [threading.Thread(target=write, args=(t,)) for t in times]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - began
    engine.dispose()
    latencies = sorted(x for t in times for x in t)
    return Appends(name, threads, each * threads / seconds,
                   latencies[len(latencies) // 2] * 1000,
                   latencies[int(len(latencies) * 0.99)] * 1000)


def _one(log: AuditLog) -> None:
    log.record("token.issued", actor="rp:bench", target="person:bench",
               details={"grant_type": "authorization_code", "acr": "urn:jpki-idp:acr:ial2-aal2",
                        "scope": "openid profile", "grant": "g-0123456789"})


def login_cost(name: str, url: str, logins: int, rounds: int, people: int) -> LoginCost:
    from bench.anchor_world import settings_for
    from bench.login import _authenticator, prepare
    from bench.login_profile import profile
    from idp.app import create_app, services_of

    site = "http://localhost"
    with tempfile.TemporaryDirectory(prefix="bench-audit-login-") as base:
        var_dir = Path(base) / "var"
        target = prepare(var_dir, url, site, people, 1000)
        app = create_app(settings_for(var_dir, url, oidc={"issuer": site},
                                      webauthn={"rp_id": "localhost", "origins": [site]}))
        audit = services_of(app).audit
        ids = [bytes.fromhex(item["id"]) for item in target.credentials]
        authenticator = _authenticator(target.credentials)
        on: list[tuple[float, float]] = []
        off: list[tuple[float, float]] = []
        entries = 0.0
        inside: list[tuple[float, float]] = []
        try:
            for turn in range(rounds * 2):  # on, off, off, on, on, off, ...: no order bias
                audited = turn % 4 in (0, 3)
                before = audit.head()[0]
                spent = [0.0, 0.0]
                with _silenced(audit) if not audited else _timed(audit, spent):
                    result = profile(app, target, authenticator, ids, logins)
                if audited:  # the warm-up logins (one per passkey) are timed too
                    inside.append((spent[0] * 1000 / (logins + len(ids)),
                                   spent[1] * 1000 / (logins + len(ids))))
                if audited:
                    entries = (audit.head()[0] - before) / (logins + len(ids))
                (on if audited else off).append((result.seconds * 1000 / logins,
                                                 sum(result.cpu_ms.values())))
        finally:
            services_of(app).engine.dispose()
    return LoginCost(name, logins * rounds, statistics.median(w for w, _ in on),
                     statistics.median(w for w, _ in off), statistics.median(c for _, c in on),
                     statistics.median(c for _, c in off), entries,
                     statistics.median(w for w, _ in inside),
                     statistics.median(c for _, c in inside))


@contextmanager
def _timed(audit: AuditLog, spent: list[float]) -> Iterator[None]:
    """The audit log as it is, with the time spent inside ``record`` summed into ``spent``
    (wall, CPU of this thread): the cost of the appends themselves, measured directly."""
    record = audit.record

    def timed(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return record(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - wall
            spent[1] += time.thread_time() - cpu

    audit.record = timed  # type: ignore[method-assign]
    try:
        yield
    finally:
        del audit.record


@contextmanager
def _silenced(audit: AuditLog) -> Iterator[None]:
    """The audit log writing nothing: the baseline a login is compared with."""
    nothing: Callable[..., Any] = lambda *_args, **_kwargs: None  # noqa: E731
    audit.record = nothing  # type: ignore[method-assign]
    try:
        yield
    finally:
        del audit.record


def report(rows: list[Appends], costs: list[LoginCost], args: argparse.Namespace) -> str:
    lines = [f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
             f"Python {platform.python_version()} (`python -m bench audit --appends "
             f"{args.appends} --threads {args.threads} --logins {args.logins} --rounds "
             f"{args.rounds}`); the machine's 2 cores shared with other work.", "",
             "| database | threads | appends/s | p50 | p99 |", "|---|---|---|---|---|"]
    lines += [f"| {r.database} | {r.threads} | {r.per_second:,.0f} | {r.p50_ms:.2f} ms | "
              f"{r.p99_ms:.2f} ms |" for r in rows]
    lines += ["", "| database | logins | entries per login | inside `record` per login "
              "(wall / CPU) | share of the login's wall time | wall per login, audit on / off "
              "| app CPU per login, on / off |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {c.database} | {c.logins:,} | {c.entries:.1f} | {c.inside_wall:.2f} / "
              f"{c.inside_cpu:.2f} ms | {c.inside_wall / c.wall_on:.1%} | {c.wall_on:.2f} / "
              f"{c.wall_off:.2f} ms | {c.cpu_on:.2f} / {c.cpu_off:.2f} ms |" for c in costs]
    lines += ["", "**What is measured.** Appends: `AuditLog.record` of a `token.issued` entry "
              "on its own (one autocommit statement on PostgreSQL, three statements and a commit "
              "on SQLite), from one thread and from several at once; p50/p99 per append. Logins: "
              "the passkey login of `bench.login` in process (`bench.login_profile`), with the "
              "audit log on and with `AuditLog.record` writing nothing, alternated. *Inside "
              "`record`*: the time spent in each call, summed per login (the appends "
              "themselves, lock waits and, for the token's entry, its commit; the robust "
              "measure). *On / off*: whole logins' wall time and the app's CPU (all threads: "
              "Flask, SQLAlchemy, the drivers, the app's background workers; the server's work "
              "is in the wall time only): their difference is the total effect, but on a "
              "loaded machine it is within the noise of runs minutes apart. PostgreSQL runs "
              "with durable "
              "commits, so every commit waits for its WAL flush on this machine's disk: the "
              "appends/s of one thread is about one over the flush time. Design and reading: "
              "docs/adr/0003-audit-log.md."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench audit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--logins", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--people", type=int, default=16)
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/benchmarks.md")
    args = parser.parse_args(argv)
    rows, costs = [], []
    with databases() as found:
        for name, url in found:
            for threads in (1, args.threads):
                rows.append(appends(name, url, args.appends, threads))
                print(rows[-1], flush=True)
        for name, url in found:
            costs.append(login_cost(name, _fresh(url), args.logins, args.rounds, args.people))
            print(costs[-1], flush=True)
    body = report(rows, costs, args)
    print(body)
    if not args.no_write:
        write_section("Audit log", body)
    return 0


def _fresh(url: str) -> str:
    """Another database next to ``url`` for the login world (its own schema and anchors)."""
    if url.startswith("sqlite:///"):
        return url.replace("audit.sqlite3", "login.sqlite3")
    base, _, _name = url.rpartition("/")
    import psycopg

    name = "bench_audit_login"
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"),
                         autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"
