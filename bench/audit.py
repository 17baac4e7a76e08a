"""The audit log's cost: appends per second, and what it adds to a passkey login.

    python -m bench audit [--appends 2000] [--threads 4] [--logins 200] [--rounds 3]
                          [--people 16] [--ab REV] [--no-write]

1. **Appends per second** (``AuditLog.record`` on its own, as the token endpoint and the J-LIS
   client write): one thread, then ``--threads`` threads, on SQLite (WAL, synchronous NORMAL, as
   the IdP runs it) and on a throwaway PostgreSQL with durable commits (fsync, synchronous
   commit on: the production setting).
2. **Cost per login**: the whole passkey login of ``bench.login`` (authorize → interaction →
   passkey options → passkey verify with the anchor re-check → token → userinfo), in process
   through Flask's test client (``bench.login_profile``): ``--logins`` logins with the audit
   log on, and as many with ``AuditLog.record`` (and ``record_on``) replaced by a function that
   writes nothing, ``--rounds`` times each, alternated (on, off, off, on, ...), medians
   reported. A login writes 3 entries: the anchor re-check, the login and the tokens issued,
   each inside the transaction of what it records. The wall time of each POST /token is taken
   apart too. ``--ab REV`` measures the logins of REV's code too (a git worktree, in a child
   process, on its own fresh database of each kind, with this checkout's harness), side by side
   with this checkout's: how a change to the appends shows in a login.

Results go to stdout and to ``docs/benchmarks.md`` (section "Audit log").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
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
    code: str  # "this checkout", or the revision measured (--ab)
    database: str
    logins: int
    wall_on: float  # ms per login, audit on (median of the rounds)
    wall_off: float
    cpu_on: float  # ms of the app's CPU per login
    cpu_off: float
    entries: float  # audit entries per login
    inside_wall: float  # ms per login spent inside AuditLog.record (audit on)
    inside_cpu: float  # ms of CPU per login inside AuditLog.record
    token_on: float = 0.0  # ms of wall time per POST /token (the token endpoint alone), audit on
    token_off: float = 0.0


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
        tokens: dict[bool, list[float]] = {True: [], False: []}
        try:
            for turn in range(rounds * 2):  # on, off, off, on, on, off, ...: no order bias
                audited = turn % 4 in (0, 3)
                before = audit.head()[0]
                spent = [0.0, 0.0]
                with _silenced(audit) if not audited else _timed(audit, spent), \
                        _token_timed(app) as token_times:
                    result = profile(app, target, authenticator, ids, logins)
                tokens[audited].append(statistics.mean(token_times[len(ids):]) * 1000)
                if audited:  # the warm-up logins (one per passkey) are timed too
                    inside.append((spent[0] * 1000 / (logins + len(ids)),
                                   spent[1] * 1000 / (logins + len(ids))))
                if audited:
                    entries = (audit.head()[0] - before) / (logins + len(ids))
                (on if audited else off).append((result.seconds * 1000 / logins,
                                                 sum(result.cpu_ms.values())))
        finally:
            services_of(app).engine.dispose()
    return LoginCost("this checkout", name, logins * rounds, statistics.median(w for w, _ in on),
                     statistics.median(w for w, _ in off), statistics.median(c for _, c in on),
                     statistics.median(c for _, c in off), entries,
                     statistics.median(w for w, _ in inside),
                     statistics.median(c for _, c in inside),
                     statistics.median(tokens[True]), statistics.median(tokens[False]))


@contextmanager
def _token_timed(app: Any) -> Iterator[list[float]]:
    """The wall time of each POST /token served by ``app`` meanwhile (seconds, in order): the
    request whose audit entry moved into the exchange's transaction, measured on its own."""
    inner, times = app.wsgi_app, []

    def timed(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") != "/token":
            return inner(environ, start_response)
        began = time.perf_counter()
        try:
            return list(inner(environ, start_response))
        finally:
            times.append(time.perf_counter() - began)

    app.wsgi_app = timed
    try:
        yield times
    finally:
        app.wsgi_app = inner


@contextmanager
def _timed(audit: AuditLog, spent: list[float]) -> Iterator[None]:
    """The audit log as it is, with the time spent inside ``record`` summed into ``spent``
    (wall, CPU of this thread): the cost of the appends themselves, measured directly."""
    def timing(method: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return method(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - wall
                spent[1] += time.thread_time() - cpu
        return timed

    with _replaced(audit, timing):
        yield


_METHODS = ("record", "record_on")  # record_on: an entry in a caller's raw transaction


@contextmanager
def _replaced(audit: AuditLog, wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> \
        Iterator[None]:
    """``audit``'s append methods (those it has: an older revision may lack one) wrapped."""
    names = [name for name in _METHODS if hasattr(audit, name)]
    for name in names:
        setattr(audit, name, wrap(getattr(audit, name)))
    try:
        yield
    finally:
        for name in names:
            delattr(audit, name)


@contextmanager
def _silenced(audit: AuditLog) -> Iterator[None]:
    """The audit log writing nothing: the baseline a login is compared with."""
    nothing: Callable[..., Any] = lambda *_args, **_kwargs: None  # noqa: E731
    with _replaced(audit, lambda _method: nothing):
        yield


def report(rows: list[Appends], costs: list[LoginCost], args: argparse.Namespace) -> str:
    lines = [f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
             f"Python {platform.python_version()} (`python -m bench audit --appends "
             f"{args.appends} --threads {args.threads} --logins {args.logins} --rounds "
             f"{args.rounds}{f' --ab {args.ab}' if args.ab else ''}`); the machine's 2 cores "
             "shared with other work.", "",
             "| database | threads | appends/s | p50 | p99 |", "|---|---|---|---|---|"]
    lines += [f"| {r.database} | {r.threads} | {r.per_second:,.0f} | {r.p50_ms:.2f} ms | "
              f"{r.p99_ms:.2f} ms |" for r in rows]
    lines += ["", "| code | database | logins | entries per login | inside `record` per login "
              "(wall / CPU) | share of the login's wall time | wall per login, audit on / off "
              "| app CPU per login, on / off | POST /token wall, audit on / off |",
              "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {c.code} | {c.database} | {c.logins:,} | {c.entries:.1f} | "
              f"{c.inside_wall:.2f} / "
              f"{c.inside_cpu:.2f} ms | {c.inside_wall / c.wall_on:.1%} | {c.wall_on:.2f} / "
              f"{c.wall_off:.2f} ms | {c.cpu_on:.2f} / {c.cpu_off:.2f} ms | {c.token_on:.2f} / "
              f"{c.token_off:.2f} ms |" for c in costs]
    lines += ["", "**What is measured.** Appends: `AuditLog.record` of a `token.issued` entry "
              "on its own (one autocommit statement on PostgreSQL, three statements and a commit "
              "on SQLite), from one thread and from several at once; p50/p99 per append. Logins: "
              "the passkey login of `bench.login` in process (`bench.login_profile`), with the "
              "audit log on and with `AuditLog.record` (and `record_on`, an entry in the "
              "token endpoint's own transaction) writing nothing, alternated. *Inside "
              "`record`*: the time spent in each call, summed per login (the appends "
              "themselves, lock waits and, where an entry has a transaction of its own, its "
              "commit; the robust measure). *POST /token*: the token requests' own wall time "
              "(mean per request over a round, median of the rounds): where the token's entry "
              "shows whole, its statement and any commit of its own. *Code*: with `--ab REV`, "
              "the same logins, by the same harness, on the code of a git worktree of REV, "
              "each side on a fresh database of its own, in the same run (until 2026-12-03 the "
              "token's entry had a transaction of its own, after the exchange's commit; it is "
              "now written in the exchange's transaction, so its commit is the exchange's). "
              "*On / off*: whole logins' wall time and the app's "
              "CPU (all threads: "
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
    parser.add_argument("--ab", metavar="REV", default=None,
                        help="also measure the logins of a git worktree of REV (e.g. main)")
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/benchmarks.md")
    args = parser.parse_args(argv)
    rows, costs = [], []
    with databases() as found, _other(args.ab) as other:
        for name, url in found:
            for threads in (1, args.threads):
                rows.append(appends(name, url, args.appends, threads))
                print(rows[-1], flush=True)
        for number, (name, url) in enumerate(found):
            sides = [None, other] if other else [None]
            for side in sides if number % 2 == 0 else sides[::-1]:  # each side first once
                fresh = _fresh(url, "login" if side is None else "login_ab")
                costs.append(login_cost(name, fresh, args.logins, args.rounds, args.people)
                             if side is None else _login_cost_of(side, name, fresh, args))
                print(costs[-1], flush=True)
    body = report(rows, costs, args)
    print(body)
    if not args.no_write:
        write_section("Audit log", body)
    return 0


@dataclass(frozen=True)
class Other:
    """A git worktree of another revision, measured in a child process."""

    label: str  # "REV (short hash)"
    checkout: Path


@contextmanager
def _other(revision: str | None) -> Iterator[Other | None]:
    """With ``revision``, a detached git worktree of it (removed after)."""
    if revision is None:
        yield None
        return
    root = Path(__file__).resolve().parent.parent
    short = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", revision],
                           check=True, capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="bench-audit-ab-") as base:
        checkout = Path(base) / "checkout"
        subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", str(checkout),
                        revision], check=True, capture_output=True)
        overlay = Path(base) / "overlay"  # REV's code, this checkout's harness (bench/)
        overlay.mkdir()
        for entry in checkout.iterdir():
            if entry.name != "bench":
                (overlay / entry.name).symlink_to(entry)
        (overlay / "bench").symlink_to(Path(__file__).resolve().parent)
        try:
            yield Other(f"{revision} ({short})", overlay)
        finally:
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force",
                            str(checkout)], check=False, capture_output=True)


# Run on the other revision's code, with this checkout's harness: the same measurement.
_CHILD = """
import dataclasses, json, sys
from bench.audit import login_cost
cost = login_cost(sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6]))
print("RESULT " + json.dumps(dataclasses.asdict(cost)))
"""


def _login_cost_of(other: Other, name: str, url: str, args: argparse.Namespace) -> LoginCost:
    ran = subprocess.run(
        [sys.executable, "-c", _CHILD, name, url, str(args.logins), str(args.rounds),
         str(args.people)], cwd=other.checkout, check=True, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(other.checkout)})
    found = json.loads(next(line for line in ran.stdout.splitlines()
                            if line.startswith("RESULT "))[len("RESULT "):])
    found.pop("code", None)
    return LoginCost(code=other.label, **found)


def _fresh(url: str, name: str) -> str:
    """Another database next to ``url`` for a login world (its own schema and anchors)."""
    if url.startswith("sqlite:///"):
        return url.replace("audit.sqlite3", f"{name}.sqlite3")
    base, _, _name = url.rpartition("/")
    import psycopg

    name = f"bench_audit_{name}"
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"),
                         autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"
