"""Soak: mixed traffic for minutes on two `idp serve` nodes over one PostgreSQL database.

    python -m bench soak [--minutes 10] [--clients 3] [--seeds 6] [--newcomers 30]
                         [--workers 1] [--threads 4] [--no-write]

Everything runs on this machine, on loopback only: a throwaway PostgreSQL cluster, the J-LIS
simulator (``idp sim serve``), two ``idp serve`` nodes (separate processes, separate instance
directories with the same keys and secrets, one database) behind a round-robin TCP proxy
(``bench.soak_proxy``: each request a connection of its own, so a login's requests alternate
between the nodes). ``--clients`` processes each onboard ``--seeds`` people with their card
before the start, then run flows back to back until the end (``bench.soak_traffic``: passkey
logins, refreshes, card logins through the card request protocol with the virtual card file,
each with its token exchange and userinfo; ``--newcomers`` onboardings spread over the run),
while a driver makes about a life event a minute in the simulator and checks what ``idp
recheck`` and the next logins make of it (``bench.soak_events``). The trust policy is ``crl``
for both purposes (``--method``), the simulator's CRLs valid for 60 s, so every node refreshes
its CRL indexes each minute under load (staleness 30 s, as docs/operations.md advises; with
``ocsp_then_crl`` every anchor re-check would wait for the simulator's OCSP responder, one
Python process signing each answer, which then bounds the whole run). At the end
``bench.soak_checks`` checks the database; the report goes to stdout and to
docs/benchmarks.md, section "Soak". Exit status 1 when any request failed or a check did not
hold.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from bench.report import write_section
from bench.soak_checks import Checked, check
from bench.soak_events import EVENTS, World, drive
from bench.soak_flows import REDIRECT, Person, Target, Unexpected
from bench.soak_proxy import LOOPBACK, RoundRobinProxy
from bench.soak_report import Tally, failure_list, latency_table, merged
from bench.soak_traffic import Outcome, Plan, card_login, onboard, run_client

IDP = str(Path(sys.executable).parent / "idp")
CRL_PERIOD = 60  # the simulator's CRL nextUpdate - thisUpdate, so the IdP refreshes each minute
CRL_STALENESS = 30
FAMILY = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤")
GIVEN = ("太郎", "花子", "一郎", "美咲", "健太", "陽子", "大輔", "直美", "翔太", "愛")


@dataclass
class Soak:
    """What one run gives the report."""

    args: argparse.Namespace
    seconds: float = 0.0
    tally: Tally = field(default_factory=Tally)
    outcomes: list[Outcome] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    connections: list[int] = field(default_factory=list)
    refused_connections: int = 0
    stalled_connections: int = 0  # directions the proxy ended after a minute without a byte
    server_errors: dict[str, int] = field(default_factory=dict)  # log lines per node
    memory: dict[str, tuple[float, float]] = field(default_factory=dict)  # MB, start and end
    nodes_alive: bool = True
    checked: Checked = field(default_factory=Checked)
    people: int = 0

    @property
    def clean(self) -> bool:
        return (not self.tally.failures and not self.checked.problems and self.nodes_alive
                and not any(self.server_errors.values()))


def residents(sim: Any, base: Path, count: int) -> list[Person]:
    """``count`` residents of the simulator with card files (4 ``idp sim`` commands at once)."""
    def add(number: int) -> Person:
        name = f"{FAMILY[number % 10]}\u3000{GIVEN[number // 10 % 10]}"
        shown = sim.add_person(name, f"{1950 + number % 50}-0{1 + number % 9}-1{number % 9}",
                               base / "cards" / f"{number}.json",
                               extra=("--sign-pin", "ABCD1234", "--auth-pin", "1234"))
        return Person.from_sim(name, shown)

    (base / "cards").mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(add, range(count)))


def node_env(var_dir: Path, database_url: str, origin: str, sim: Any,
             secrets_: dict[str, str], method: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update(IDP_VAR_DIR=str(var_dir), IDP_DATABASE_URL=database_url, IDP_CONFIG="/dev/null",
               IDP_OIDC__ISSUER=origin, IDP_JLIS__URL=sim.url, IDP_JLIS__API_KEY=sim.api_key,
               IDP_WEBAUTHN__RP_ID="localhost", IDP_WEBAUTHN__ORIGINS=json.dumps([origin]),
               IDP_SECRET_KEY=secrets_["session"], IDP_OIDC__PAIRWISE_SALT=secrets_["salt"])
    for purpose in ("SIGN", "AUTH"):
        env[f"IDP_TRUST__{purpose}__METHOD"] = method
        # A refresh under load: the other workers serve the index they hold meanwhile
        # (docs/operations.md advises staleness above the refresh time).
        env[f"IDP_TRUST__{purpose}__MAX_CRL_STALENESS_SECONDS"] = str(CRL_STALENESS)
    return env


def start_node(env: dict[str, str], port: int, args: argparse.Namespace,
               log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen([IDP, "serve", "--host", LOOPBACK, "--port", str(port),
                                    "--workers", str(args.workers), "--threads",
                                    str(args.threads)], env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"idp serve exited: {log.read_text()[-2000:]}")
        try:
            if requests.get(f"http://{LOOPBACK}:{port}/healthz", timeout=5).ok:
                return process
        except requests.RequestException:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("idp serve did not come up")


def instance(base: Path, name: str, sim: Any, keys_from: Path | None) -> Path:
    """A node's instance directory: the simulator's CAs as anchors, the shared signing keys."""
    var_dir = base / name
    exported = sim.run("ca", "export", str(var_dir / "trust"))
    if exported.returncode != 0:
        raise RuntimeError(exported.stderr)
    if keys_from is not None:
        shutil.copytree(keys_from / "keys", var_dir / "keys")
    return var_dir


def resident_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants (gunicorn's master and workers)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        proc = Path(f"/proc/{current}")
        try:
            status = (proc / "status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines()
                          if line.startswith("VmRSS:"))
            for task in (proc / "task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration):
            continue  # gone meanwhile
    return total / 1024


def server_errors(log: Path) -> int:
    """Tracebacks and error lines a node logged (its clients may never have seen them)."""
    text = log.read_text(errors="replace")
    return text.count("Traceback") + sum(1 for line in text.splitlines()
                                         if "[ERROR]" in line or " ERROR " in line)


def client_main(plan: Plan, barrier: Any, results: Any) -> None:
    """A client process: its outcome on ``results``, or why it failed (the run then stops)."""
    def start() -> float:
        barrier.wait(timeout=900)  # every client has its seeds in; the parent starts too
        return time.time()

    try:
        results.put(run_client(plan, start))
    except Exception as error:  # reported by the parent, which stops the run
        barrier.abort()
        results.put(f"client {plan.number}: {type(error).__name__}: {error}")


def run(args: argparse.Namespace) -> Soak:
    from idp import db
    from idp.bootstrap import key_store
    from idp.oidc import clients
    from idp.settings import Settings
    from tests.support.postgres import throwaway_cluster
    from tests.support.sim import free_port, running_sim

    soak, seconds = Soak(args), args.minutes * 60
    events = max(1, int((seconds - 30) // 60))
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp, throwaway_cluster() as pg, \
            running_sim(Path(tmp) / "sim", crl_period_seconds=CRL_PERIOD) as sim:
        base = Path(tmp)
        database_url = pg.create_database()
        db.upgrade(database_url)
        ports = [free_port(), free_port()]
        proxy = RoundRobinProxy([(LOOPBACK, port) for port in ports])
        origin = f"http://localhost:{proxy.port}"
        var_a = instance(base, "node-a", sim, None)
        key_store(Settings(var_dir=var_a, database_url=database_url))  # the keys both sign with
        var_b = instance(base, "node-b", sim, var_a)
        shared = {"session": secrets.token_urlsafe(32), "salt": secrets.token_urlsafe(32)}
        envs = [node_env(var, database_url, origin, sim, shared, args.method)
                for var in (var_a, var_b)]
        engine = db.make_engine(database_url)
        with db.transaction(db.make_sessionmaker(engine)) as session:
            client_id, secret = clients.register(session, name="soak", redirect_uris=[REDIRECT])
        engine.dispose()
        target = Target(proxy.url, origin, client_id, str(secret))
        people = residents(sim, base, args.clients * args.seeds + args.newcomers + events)
        soak.people = len(people)
        logs = [base / "node-a.log", base / "node-b.log"]
        nodes = [start_node(env, port, args, log)
                 for env, port, log in zip(envs, ports, logs, strict=True)]
        names = [log.stem for log in logs]
        try:
            with proxy:
                before = [resident_mb(node.pid) for node in nodes]
                _traffic(soak, target, people, sim, envs[0], database_url, events, seconds)
                soak.connections, soak.refused_connections = proxy.connections, proxy.refused
                soak.stalled_connections = proxy.stalled
                soak.memory = {name: (a, resident_mb(node.pid)) for name, a, node
                               in zip(names, before, nodes, strict=True)}
        finally:
            soak.nodes_alive = all(node.poll() is None for node in nodes)
            for node in nodes:
                node.terminate()
                node.wait(timeout=60)
        soak.server_errors = {log.stem: server_errors(log) for log in logs}
    return soak


def _traffic(soak: Soak, target: Target, people: list[Person], sim: Any, env: dict[str, str],
             database_url: str, events: int, seconds: float) -> None:
    """Setup of the event people, the clients and the driver, the run, then the checks."""
    args = soak.args
    eventful, rest = people[:events], people[events:]
    setup = Tally()
    for person in eventful:
        try:  # the card login shows the IdP the card's auth certificate, as people's do
            onboard(target, setup, person)
            card_login(target, setup, person)
        except Unexpected as failed:
            raise RuntimeError(f"setup failed at {failed}: "
                               + failure_list(setup.failures, setup.examples)) from failed
    private_ids = _private_ids(database_url, eventful)

    def recheck() -> dict[str, Any]:
        done = subprocess.run([IDP, "recheck", "--all", "--json"], env=env, check=True,
                              capture_output=True, text=True, timeout=300)
        found: dict[str, Any] = json.loads(done.stdout)
        return found

    driver_tally = Tally()
    world = World(target, driver_tally, sim.cli, recheck, private_ids)
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(args.clients + 1), context.Queue()
    newcomers = rest[args.clients * args.seeds:]
    plans = [Plan(n, target, rest[n * args.seeds:(n + 1) * args.seeds],
                  newcomers[n::args.clients], 0.0, seconds) for n in range(args.clients)]
    processes = [context.Process(target=client_main, args=(plan, barrier, results))
                 for plan in plans]
    for process in processes:
        process.start()
    barrier.wait(timeout=900)
    started, since = time.time(), datetime.now(UTC)
    delay = CRL_PERIOD + 2 if args.method == "crl" else 0  # until every index shows the event
    driver = threading.Thread(target=lambda: soak.events.extend(
        drive(world, eventful, started, seconds, delay, tuple(args.events.split(",")))),
        daemon=True)
    driver.start()
    for _ in processes:
        found = results.get(timeout=seconds + 300)
        if isinstance(found, str):
            raise RuntimeError(found)
        soak.outcomes.append(found)
    driver.join(timeout=300)
    soak.seconds = time.time() - started
    for process in processes:
        process.join(timeout=30)
    soak.tally = merged([o.tally for o in soak.outcomes] + [driver_tally])
    everyone = [p for o in soak.outcomes for p in o.people] + _credentials(eventful)
    soak.checked = _check(database_url, everyone, since, target.client_id, soak)


def _private_ids(database_url: str, people: list[Person]) -> dict[str, str]:
    with _connect(database_url) as connection:
        return {p.person_id: connection.execute(
            "SELECT private_id FROM anchors WHERE serial_hex = %s", (p.sign_serial,)
        ).fetchone()[0] for p in people}


def _credentials(people: list[Person]) -> list[Person]:
    from bench.soak_traffic import credential_of

    for person in people:
        person.credential = credential_of(person)
    return people


def _check(database_url: str, people: list[Person], since: datetime, client_id: str,
           soak: Soak) -> Checked:
    exchanges = soak.tally.flows["tokens from token"]  # code exchanges whose tokens checked out
    with _connect(database_url) as connection:
        return check(connection, people, since=since, client_id=client_id,
                     expected_accounts=sum(o.newcomers_onboarded for o in soak.outcomes),
                     min_grants=exchanges)


def _connect(database_url: str) -> Any:
    import psycopg

    return psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql"),
                           autocommit=True)


def report(soak: Soak) -> str:
    args, tally = soak.args, soak.tally
    machine = (f"{platform.python_implementation()} {platform.python_version()}, "
               f"{os.cpu_count()} CPU(s), {platform.machine()}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    flows = ", ".join(f"{name} {count:,}" for name, count in sorted(tally.flows.items())
                      if not name.startswith("tokens from"))
    checked = soak.checked
    verdict = "**Clean**" if soak.clean else "**Not clean**"
    return "\n\n".join([
        f"Command: `python -m bench soak --minutes {args.minutes:g}` ({datetime.now(UTC):%Y-%m-%d}"
        f", {machine}; load average {load} at the end, other people's work on the machine "
        "included).",
        f"Setup: two `idp serve` nodes (gunicorn, {args.workers} worker(s) × {args.threads} "
        "threads each; separate processes and instance directories with the same signing keys "
        "and secrets) on one throwaway PostgreSQL 15 cluster (fsync off), behind a round-robin "
        "TCP proxy on loopback (`bench/soak_proxy.py`; every request is a connection of its "
        "own, so a login's requests alternate between the nodes: "
        f"{' / '.join(f'{n:,}' for n in soak.connections)} connections, "
        f"{soak.refused_connections} refused by a node, {soak.stalled_connections} ended idle "
        "after a minute); the J-LIS simulator (`idp sim serve`); trust "
        f"policy `method = \"{args.method}\"` for both purposes"
        + (f" with the simulator's CRLs valid {CRL_PERIOD} s, so each node refreshes its CRL "
           f"indexes every minute under load (`max_crl_staleness_seconds = {CRL_STALENESS}`)"
           if args.method == "crl" else ", the simulator's OCSP responder asked at every check")
        + "; "
        f"{args.clients} client processes in closed loops; {soak.people} residents of the "
        f"simulator with card files: {args.clients * args.seeds} onboarded before the start "
        f"for the clients' logins, {soak.people - args.clients * args.seeds - args.newcomers} "
        "onboarded (and logged in once with the card) for the life events, "
        f"{args.newcomers} onboarded during the run. Memory of each node (master and workers, "
        "resident) before the first request and after the last: "
        + ", ".join(f"{name} {a:.0f} → {b:.0f} MB" for name, (a, b) in soak.memory.items())
        + ".",
        f"{verdict}: {tally.requests:,} requests in {soak.seconds:.0f} s "
        f"(**{tally.requests / soak.seconds:.1f} requests/s**); flows: {flows}.",
        "Failures (goal 0: any 5xx, any 4xx a step does not expect, no answer):\n\n"
        + failure_list(tally.failures, tally.examples),
        "Refusals the flows expected (the life events):\n\n" + failure_list(tally.expected),
        f"Server side: nodes alive at the end: {'yes' if soak.nodes_alive else '**no**'}; "
        "error lines and tracebacks in their logs: "
        + ", ".join(f"{name} {count}" for name, count in soak.server_errors.items()) + ".",
        "Latency per request (client side, through the proxy; `token` is the code exchange, "
        "`card_answer` the card app's POST, which checks the card's signature and asks J-LIS):"
        "\n\n" + latency_table(tally, soak.seconds),
        "Life events (about one a minute, `bench/soak_events.py`): "
        + ("; ".join(soak.events) or "none") + ".",
        "**Honesty note:** the 2 cores are shared by the two nodes, PostgreSQL, the simulator, "
        "the proxy, the client processes (which sign with the virtual card and the software "
        "authenticator) and other people's work (load average above), and every request is a "
        "new TCP connection through a Python proxy, so the rates and latencies are far from "
        "what the IdP serves alone (section *Passkey login*). What this run is for: no failure, "
        "no server error, no drift over the minutes, and nothing lost in the database.",
        f"Integrity at the end (`bench/soak_checks.py`): {checked.accounts} private IDs, "
        f"{checked.passkeys} passkeys and {checked.grants:,} grants made during the run, "
        f"{checked.people} people checked one by one (live anchor = the simulator's newest "
        "signing certificate, private ID active, passkey bound to it with the authenticator's "
        "sign count, newest refresh token stored unused and unrevoked under a grant for that "
        "private ID): " + ("all intact." if not checked.problems else
                           "**problems**:\n\n" + "\n".join(f"- {p}" for p in checked.problems)),
    ])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=3, help="load-generator processes")
    parser.add_argument("--seeds", type=int, default=6, help="people per client onboarded "
                        "before the start")
    parser.add_argument("--newcomers", type=int, default=30, help="onboardings during the run")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers per node")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--method", choices=("crl", "ocsp_then_crl", "ocsp"), default="crl",
                        help="trust policy for both purposes (crl: the simulator's CRL, "
                        f"refreshed every {CRL_PERIOD} s; else OCSP at every check)")
    parser.add_argument("--events", default=",".join(EVENTS),
                        help="the life events, in turn (%(default)s)")
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/benchmarks.md")
    args = parser.parse_args(argv)
    if not set(args.events.split(",")) <= set(EVENTS):
        parser.error(f"--events: choose among {', '.join(EVENTS)}")
    soak = run(args)
    text = report(soak)
    print(text)
    if not args.no_write:
        write_section("Soak", text)
    return 0 if soak.clean else 1
