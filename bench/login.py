"""Complete passkey logins against `idp serve` on PostgreSQL: the workers' CPU per login
against a trivial Flask request served the same way, logins/s and p50/p99, optionally A/B.

    python -m bench login [--database postgresql|sqlite] [--workers 2,4] [--threads 4]
                          [--server gunicorn[,uwsgi][,granian]]
                          [--ab REV] [--rounds N] [--clients 3] [--seconds 8]
                          [--people 48] [--revoked 100000] [--profile-logins 0] [--no-write]

Defaults keep a run to about two minutes on a 2-core machine (one round: the trivial baseline
then logins, for 2 and 4 workers). ``--ab HEAD~1`` serves a git worktree of that revision beside
this checkout, the two alternating within each round (two rounds by default, so each goes first
once), on the same database. The CPU is read from /proc for the server's worker processes.

Each login, by one of ``--clients`` load-generator processes, is what a browser and a relying
party do: GET /authorize (fresh PKCE pair, no cookie) → the interaction's JSON, which brings the
passkey options (an older revision in an A/B: then POST ``passkey_options``, as browsers did) →
the software authenticator signs (``tests/support/webauthn_authenticator``) → POST
``passkey_verify`` (the anchor re-check inside: trust policy ``crl``, CRL indexes built before
the run; consent pre-granted at setup, so its answer carries the redirect with the code)
→ POST /token → GET /userinfo. The trivial request is ``bench.trivial``. Setup registers one
passkey per person through the real ``PasskeyService`` ceremony and writes the anchors. With
``--profile-logins N``, ``bench.login_profile`` runs N logins in process for the per-request
breakdown. Results go to stdout and to ``docs/benchmarks.md`` (section "Passkey login").
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import cProfile
import hashlib
import json
import multiprocessing
import os
import platform
import pstats
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from bench.anchor_world import build_world
from bench.login_profile import STEPS as REQUESTS
from bench.login_profile import Profile, table
from bench.report import write_section
from idp.app import services_of

REDIRECT = "https://rp.example/cb"
SCOPE = "openid profile"
STEPS = ("authorize", "interaction", "passkey_options", "authenticator", "passkey_verify",
         "to_code", "token", "userinfo")


@dataclass(frozen=True)
class Target:
    url: str
    client_id: str
    secret: str
    credentials: list[dict[str, Any]]  # one passkey per person (private key PEM, ids)


def prepare(var_dir: Path, database_url: str, url: str, people: int, revoked: int) -> Target:
    from idp import db
    from idp.accounts.overview import live_anchor_name
    from idp.oidc import clients, consent
    from idp.oidc.claims import consentable
    from idp.passkeys.service import PasskeyService
    from idp.passkeys.values import Anchor
    from tests.support.webauthn_authenticator import SoftAuthenticator

    world = build_world(var_dir, database_url, people=people, revoked=revoked,
                        oidc={"issuer": url}, webauthn={"rp_id": "localhost", "origins": [url]})
    engine = db.make_engine(database_url)
    sessions = db.make_sessionmaker(engine)
    service = PasskeyService(sessions, world.settings.webauthn)
    credentials = []
    try:
        with db.transaction(sessions) as session:
            client_id, secret = clients.register(session, name="bench", redirect_uris=[REDIRECT])
        asked = consentable(SCOPE.split(), {})
        for private_id in world.private_ids:
            issuer, serial = live_anchor_name(sessions, private_id)
            anchor = Anchor(issuer=issuer, serial=serial)
            with db.transaction(sessions) as session:
                consent.give(session, private_id, client_id, asked=asked, approved=asked)
            authenticator = SoftAuthenticator()
            started = service.begin_registration(private_id=private_id, display_name="bench",
                                                 anchor=anchor)
            service.finish_registration(handle=started.handle, response_json=authenticator.create(
                started.options_json, origin=url))
            (credential,) = authenticator.credentials.values()
            credentials.append({
                "id": credential.credential_id.hex(), "user_handle": credential.user_handle.hex(),
                "key": credential.private_key.private_bytes(
                    Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()})
    finally:
        engine.dispose()
    assert secret is not None
    return Target(url, client_id, secret, credentials)


def _authenticator(credentials: list[dict[str, Any]],
                   counts: dict[str, int] | None = None) -> Any:
    """The people's passkeys; ``counts``: their sign counters so far (by credential id, hex),
    so that a later phase of the same run signs with higher ones."""
    from tests.support.webauthn_authenticator import SoftAuthenticator, SoftCredential

    authenticator = SoftAuthenticator()
    for item in credentials:
        key = load_pem_private_key(item["key"].encode(), None)
        credential = SoftCredential(bytes.fromhex(item["id"]), key,  # type: ignore[arg-type]
                                    "localhost", bytes.fromhex(item["user_handle"]))
        credential.sign_count = (counts or {}).get(item["id"], 0)
        authenticator.credentials[credential.credential_id] = credential
    return authenticator


def login(target: Target, authenticator: Any, credential_id: bytes,
          session: Callable[[], Any] = requests.Session) -> dict[str, float]:
    """One complete login in a new HTTP ``session``; seconds per step."""
    http, times = session(), {}
    clock = time.perf_counter
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    start = clock()
    answer = http.get(f"{target.url}/authorize", allow_redirects=False, params={
        "client_id": target.client_id, "redirect_uri": REDIRECT, "response_type": "code",
        "scope": SCOPE, "state": "s", "nonce": "n", "code_challenge_method": "S256",
        "code_challenge": challenge.rstrip(b"=").decode()})
    location = _absolute(target, _redirect(answer))
    times["authorize"], start = clock() - start, clock()
    state = _ok(http.get(location, headers={"Accept": "application/json"})).json()
    headers = {"X-CSRF-Token": state["csrf_token"]}
    times["interaction"], start = clock() - start, clock()
    if "passkey" in state:  # the face brings its options (since 2026-12-03)
        options = state["passkey"]["options"]
    else:  # an older revision, in an A/B: ask for them as a browser then did
        options = _ok(http.post(_absolute(target, state["actions"]["passkey_options"]["href"]),
                                json={}, headers=headers)).json()["options"]
    times["passkey_options"], start = clock() - start, clock()
    assertion = authenticator.get(json.dumps(options), origin=target.url,
                                  credential_id=credential_id)
    times["authenticator"], start = clock() - start, clock()
    verified = _ok(http.post(_absolute(target, state["actions"]["passkey_verify"]["href"]),
                             json={"credential": assertion}, headers=headers)).json()
    times["passkey_verify"], start = clock() - start, clock()
    code = _code(target, http, _absolute(target, verified["redirect_to"]))
    times["to_code"], start = clock() - start, clock()
    tokens = _ok(http.post(f"{target.url}/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier}, auth=(target.client_id, target.secret))).json()
    times["token"], start = clock() - start, clock()
    _ok(http.get(f"{target.url}/userinfo",
                 headers={"Authorization": f"Bearer {tokens['access_token']}"}))
    times["userinfo"] = clock() - start
    return times


def _code(target: Target, http: Any, location: str) -> str:
    """Follow the interaction to the relying party's redirect (consent was given at setup);
    ``passkey_verify`` already answers that redirect when nothing is left to ask."""
    if location.startswith(REDIRECT):
        return parse_qs(urlsplit(location).query)["code"][0]
    answer = http.get(location, headers={"Accept": "application/json"}, allow_redirects=False)
    if answer.status_code in (302, 303):
        redirect = answer.headers["Location"]
    else:
        state = _ok(answer).json()
        if state.get("prompt") != "done" or "redirect_to" not in state:
            raise RuntimeError(f"expected the code, got the prompt {state.get('prompt')!r}")
        redirect = state["redirect_to"]
    if not redirect.startswith(REDIRECT):
        return _code(target, http, _absolute(target, str(redirect)))
    return parse_qs(urlsplit(str(redirect)).query)["code"][0]


def _redirect(answer: requests.Response) -> str:
    if answer.status_code not in (302, 303):
        raise RuntimeError(f"{answer.url}: {answer.status_code} {answer.text[:300]}")
    return answer.headers["Location"]


def _ok(answer: requests.Response) -> requests.Response:
    if answer.status_code != 200:
        raise RuntimeError(f"{answer.request.method} {answer.url}: {answer.status_code} "
                           f"{answer.text[:300]}")
    return answer


def _absolute(target: Target, location: str) -> str:
    return target.url + location if location.startswith("/") else location


def client(target: Target, number: int, clients: int, seconds: float, start_at: float,
           counts: dict[str, int] | None = None
           ) -> tuple[list[dict[str, float]], dict[str, int]]:
    """One load-generator process: its own share of the people (sign counters stay in order,
    and are handed back for the next phase). Logins until ``start_at`` are warm-up."""
    mine = target.credentials[number::clients]
    authenticator = _authenticator(mine, counts)
    ids = [bytes.fromhex(item["id"]) for item in mine]
    login(target, authenticator, ids[0])  # warm-up: connections, imports
    if time.time() > start_at:
        print("warning: a warm-up login ended after the start; its CPU is counted",
              file=sys.stderr)
    time.sleep(max(0.0, start_at - time.time()))
    results, turn = [], 0
    while time.time() < start_at + seconds:
        results.append(login(target, authenticator, ids[turn % len(ids)]))
        turn += 1
    return results, {c.credential_id.hex(): c.sign_count
                     for c in authenticator.credentials.values()}


def _ready(_: int) -> None:
    """Nothing: a pool's processes answer it once they have started."""


REQUESTS_PER_SESSION = len(REQUESTS)  # like a login: its requests on one HTTP session


def trivial_client(url: str, seconds: float, start_at: float) -> int:
    """One load-generator process against ``bench.trivial``: JSON POSTs with the session
    cookie, as many per new HTTP session as a login makes; the requests made after
    ``start_at``."""
    def one_session() -> None:
        http = requests.Session()
        for n in range(REQUESTS_PER_SESSION):
            _ok(http.post(f"{url}/echo", json={"x": n}))

    one_session()  # warm-up
    time.sleep(max(0.0, start_at - time.time()))
    done = 0
    while time.time() < start_at + seconds:
        one_session()
        done += REQUESTS_PER_SESSION
    return done


def workers_of(server: int) -> list[int]:
    """The worker processes of the server process ``server`` (its children)."""
    found = []
    for children in Path(f"/proc/{server}/task").glob("*/children"):
        found += [int(pid) for pid in children.read_text().split()]
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU so far of ``pids`` (all their threads), from /proc/PID/stat."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # a worker gone (restarted): its CPU is lost, said below
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


def _serve(var_dir: Path, database_url: str, port: int, workers: int,
           threads: int, server: str = "gunicorn",
           source: Path | None = None) -> subprocess.Popen[bytes]:
    """``idp serve`` of this checkout, or of the checkout at ``source`` (A/B)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env["PYTHONPATH"] = str(source or Path(__file__).resolve().parent.parent)
    url = f"http://localhost:{port}"
    env.update(IDP_VAR_DIR=str(var_dir), IDP_DATABASE_URL=database_url, IDP_CONFIG="/dev/null",
               IDP_OIDC__ISSUER=url, IDP_JLIS__URL="http://127.0.0.1:9",
               IDP_JLIS__API_KEY="bench-unused", IDP_TRUST__SIGN__METHOD="crl",
               IDP_TRUST__AUTH__METHOD="crl", IDP_WEBAUTHN__RP_ID="localhost",
               IDP_WEBAUTHN__ORIGINS=json.dumps([url]))
    command = [str(Path(sys.executable).parent / "idp"), "serve", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), "--threads", str(threads),
               "--server", server]
    if server == "granian":  # measured only (bench/granian_app.py), not an idp serve option
        command = [sys.executable, "-m", "granian", "--interface", "wsgi", "--factory",
                   "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                   "--blocking-threads", str(threads), "--no-ws", "bench.granian_app:app"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=(var_dir / "serve.log").open("ab"))  # kept on failure
    return _up(process, f"{url}/.well-known/openid-configuration", workers)


def _serve_trivial(port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    process = subprocess.Popen([sys.executable, "-m", "bench.trivial", "--port", str(port),
                                "--workers", str(workers), "--threads", str(threads)],
                               env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    return _up(process, f"http://127.0.0.1:{port}/echo", workers, post=True)


def _up(process: subprocess.Popen[bytes], url: str, workers: int,
        post: bool = False) -> subprocess.Popen[bytes]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            answer = requests.post(url, json={}, timeout=5) if post else \
                requests.get(url, timeout=5)
            if answer.ok and len(workers_of(process.pid)) >= workers:
                return process
        except requests.RequestException:  # not listening yet, or workers still booting
            time.sleep(0.2)
    process.terminate()
    process.wait(timeout=30)
    raise RuntimeError("idp serve did not come up")


@dataclass(frozen=True)
class Row:
    side: str  # "this checkout" or the A/B revision
    server: str  # idp serve --server
    workers: int
    threads: int
    clients: int
    logins: int
    seconds: float
    p50_ms: float
    p99_ms: float
    step_ms: dict[str, float]
    transactions: float  # PostgreSQL transactions (commits + rollbacks) per login
    cpu_ms: float  # the workers' CPU (user + system) per login
    trivial_cpu_ms: float  # the same server's workers' CPU per trivial request, same round
    # Each round's own ratio (its login phase over its trivial phase), in round order: the
    # spread of the measure within one run, which the pooled ratio hides.
    round_ratios: tuple[float, ...] = ()

    @property
    def ratio(self) -> float:
        return self.cpu_ms / self.trivial_cpu_ms


@dataclass(frozen=True)
class Side:
    label: str
    source: Path | None  # a checkout to serve (None: this one)


@contextlib.contextmanager
def _database(kind: str, base: Path) -> Iterator[str]:
    """The run's database URL: a throwaway PostgreSQL cluster with fsync on (the decision in
    docs/benchmarks.md), or a SQLite file (WAL, as ``idp`` opens it)."""
    if kind == "sqlite":
        yield f"sqlite:///{base / 'bench.db'}"
        return
    from tests.support.postgres import throwaway_cluster

    with throwaway_cluster(durable=True) as cluster:
        yield cluster.create_database()


def run(sides: list[Side], configs: list[tuple[str, int, int]], rounds: int, clients: int,
        seconds: float, people: int, revoked: int, database: str = "postgresql") -> list[Row]:
    """Every (server, workers, threads) of ``configs`` for every side, ``rounds`` times, the
    sides alternating within a round and the trivial baseline measured in every round, all on
    one database; one row per side and configuration, the rounds pooled."""
    from tests.support.sim import free_port

    pooled: dict[tuple[str, str, int, int], list[Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-login-") as base, \
            _database(database, Path(base)) as database_url:
        port = free_port()
        url = f"http://localhost:{port}"
        target = prepare(Path(base) / "var", database_url, url, people, revoked)
        counts: dict[str, int] = {}
        for number in range(rounds):
            for kind, workers, threads in configs:
                trivial = _trivial_phase(workers, threads, clients, seconds)
                for side in (sides if number % 2 == 0 else sides[::-1]):
                    print(f"  round {number + 1}: {side.label}, {kind}, {workers} worker(s) x "
                          f"{threads} thread(s) ...", flush=True)
                    try:
                        samples, cpu, spent = _login_phase(
                            target, Path(base) / "var", database_url, port, kind, workers,
                            threads, clients, seconds, counts, side.source)
                    except RuntimeError:
                        log = Path(base) / "var" / "serve.log"
                        lines = log.read_text().splitlines() if log.exists() else []
                        print("\n".join(line for line in lines  # not the request lines
                                        if '"logger": "idp.request"' not in line)[-8000:],
                              file=sys.stderr)
                        raise
                    pooled.setdefault((side.label, kind, workers, threads), []).append(
                        (samples, cpu, spent, trivial))
    rows = []
    for (label, kind, workers, threads), phases in pooled.items():
        samples = [s for phase in phases for s in phase[0]]
        totals = [sum(s.values()) * 1000 for s in samples]
        cuts = statistics.quantiles(totals, n=100)
        steps = {step: statistics.fmean(s[step] for s in samples) * 1000 for step in STEPS}
        cpu = sum(phase[1] for phase in phases)
        spent = sum(phase[2] for phase in phases)
        trivial_cpu = sum(phase[3][0] for phase in phases)
        trivial_requests = sum(phase[3][1] for phase in phases)
        rows.append(Row(label, kind, workers, threads, clients, len(samples),
                        seconds * len(phases), cuts[49], cuts[98], steps,
                        spent / (len(samples) + clients * len(phases)),
                        cpu * 1000 / len(samples), trivial_cpu * 1000 / trivial_requests,
                        tuple(_round_ratio(*phase) for phase in phases)))
    return rows


def _round_ratio(samples: list[dict[str, float]], cpu: float, _: int,
                 trivial: tuple[float, int]) -> float:
    """One round's ratio: its login phase's CPU per login over its trivial phase's per request."""
    trivial_cpu, served = trivial
    return (cpu / len(samples)) / (trivial_cpu / served)


def _login_phase(target: Target, var_dir: Path, database_url: str, port: int, kind: str,
                 workers: int, threads: int, clients: int, seconds: float,
                 counts: dict[str, int], source: Path | None
                 ) -> tuple[list[dict[str, float]], float, int]:
    """Logins for ``seconds`` against a fresh server: the samples, the workers' CPU seconds
    over the measured logins, and PostgreSQL's transactions (warm-up logins included)."""
    server = _serve(var_dir, database_url, port, workers, threads, kind, source)
    try:
        pids = workers_of(server.pid)
        before = _transactions(database_url)
        with multiprocessing.get_context("spawn").Pool(clients) as pool:
            pool.map(_ready, range(clients))  # the processes are up, this module imported
            start_at = time.time() + 3
            waiting = pool.starmap_async(client, [(target, n, clients, seconds, start_at, counts)
                                                  for n in range(clients)])
            time.sleep(max(0.0, start_at - time.time()))
            cpu_before = cpu_seconds(pids)  # the warm-up logins are done by now
            shares = waiting.get()
        cpu = cpu_seconds(pids) - cpu_before
    finally:
        server.terminate()
        server.wait(timeout=30)
    time.sleep(1)  # the exiting backends flush their statistics
    spent = _transactions(database_url) - before
    for _, theirs in shares:
        counts.update(theirs)
    return [s for share, _ in shares for s in share], cpu, spent


def _trivial_phase(workers: int, threads: int, clients: int,
                   seconds: float) -> tuple[float, int]:
    """The trivial request (``bench.trivial``) for ``seconds`` on a server of the same shape:
    the workers' CPU seconds and the requests they served."""
    from tests.support.sim import free_port

    port = free_port()
    server = _serve_trivial(port, workers, threads)
    try:
        pids = workers_of(server.pid)
        with multiprocessing.get_context("spawn").Pool(clients) as pool:
            pool.map(_ready, range(clients))  # the processes are up, this module imported
            start_at = time.time() + 2
            waiting = pool.starmap_async(trivial_client, [
                (f"http://127.0.0.1:{port}", seconds, start_at) for _ in range(clients)])
            time.sleep(max(0.0, start_at - time.time()))
            cpu_before = cpu_seconds(pids)
            served = sum(waiting.get())
        cpu = cpu_seconds(pids) - cpu_before
    finally:
        server.terminate()
        server.wait(timeout=30)
    return cpu, served


def run_profile(people: int, revoked: int, logins: int,
                cprofile: cProfile.Profile | None = None) -> Profile:
    """The per-request breakdown (``bench.login_profile``), on a database of its own."""
    from bench.anchor_world import settings_for
    from bench.login_profile import profile
    from idp.app import create_app
    from tests.support.postgres import throwaway_cluster

    url = "http://localhost"
    with tempfile.TemporaryDirectory(prefix="bench-login-") as base, \
            throwaway_cluster() as cluster:
        var_dir, database_url = Path(base) / "var", cluster.create_database()
        target = prepare(var_dir, database_url, url, people, revoked)
        app = create_app(settings_for(var_dir, database_url, oidc={"issuer": url},
                                      webauthn={"rp_id": "localhost", "origins": [url]}))
        before = _transactions(database_url)
        try:
            ids = [bytes.fromhex(item["id"]) for item in target.credentials]
            result = profile(app, target, _authenticator(target.credentials), ids, logins,
                             cprofile)
        finally:
            services_of(app).engine.dispose()
        time.sleep(1)  # the closed backends flush their statistics
        spent = _transactions(database_url) - before - 1  # - the reading of ``before``
    return replace(result, pg_transactions=spent / (logins + len(ids)))  # + warm-ups


def _transactions(database_url: str) -> int:
    """Commits + rollbacks so far in the benchmark's database (pg_stat_database; 0 on SQLite,
    which does not count them)."""
    import psycopg

    if database_url.startswith("sqlite"):
        return 0

    with psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql"),
                         autocommit=True) as connection:
        row = connection.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database "
                                 "WHERE datname = current_database()").fetchone()
    return int(row[0]) if row else 0


def _table(rows: list[Row]) -> str:
    lines = ["| code | server | workers × threads | logins | logins/s | p50 | p99 | "
             "worker CPU / login | trivial request CPU | ratio | ratio by round | "
             "PostgreSQL transactions / login | "
             + " | ".join(f"{s} (mean)" for s in STEPS) + " |",
             "|---" * (12 + len(STEPS)) + "|"]
    for row in rows:
        lines.append(f"| {row.side} | {row.server} | {row.workers} × {row.threads} | "
                     f"{row.logins:,} | {row.logins / row.seconds:.1f} | {row.p50_ms:.1f} ms | "
                     f"{row.p99_ms:.1f} ms | {row.cpu_ms:.2f} ms | {row.trivial_cpu_ms:.2f} ms | "
                     f"**{row.ratio:.1f}×** | "
                     f"{', '.join(f'{r:.1f}' for r in row.round_ratios) or '–'} | "
                     f"{row.transactions:.1f} | "
                     + " | ".join(f"{row.step_ms[s]:.1f} ms" for s in STEPS) + " |")
    return "\n".join(lines)


def _report(rows: list[Row], result: Profile | None, args: argparse.Namespace) -> str:
    machine = f"{platform.python_implementation()} {platform.python_version()}, " \
              f"{os.cpu_count()} CPU(s), {platform.machine()}"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    parts = [
        f"Command: `{' '.join(['python -m bench login', *args.argv])}` "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine}; {args.seconds:.0f} s per phase, "
        f"{args.rounds} round(s), {args.clients} client processes; load average {load} at the "
        "end, other work on the machine included).",
        _table(rows),
        "**How it is measured.** One "
        + ("PostgreSQL database (throwaway cluster, fsync on)" if args.database == "postgresql"
           else "SQLite database (one file, WAL; SQLite counts no transactions: 0 in that "
           "column)")
        + " for the whole run. In every round and for every server configuration: first the "
        "trivial baseline — `bench/trivial.py`, a Flask app whose one route reads a JSON body "
        "and the signed session cookie and answers JSON, served by gunicorn with exactly the "
        "options `idp serve` gives it (same workers, threads, worker class) and driven by the same "
        f"number of client processes, {REQUESTS_PER_SESSION} requests per HTTP session like a "
        "login — then "
        "logins against `idp serve` of each side (with `--ab REV`: this checkout and a git "
        "worktree of REV, their order alternating from round to round). *Worker CPU* is the "
        "user + system time of the server's worker processes (/proc/PID/stat, all threads: "
        "the app's background threads included) over the measured phase, divided by the "
        "logins (or trivial requests) completed in it; warm-up requests come before the first "
        "reading. The ratio is the issue's measure (≤ 12× is the goal). Logins/s and p50/p99 "
        "are wall-clock figures on a 2-core machine shared with the load generators (which "
        "sign P-256 and parse JSON in Python), PostgreSQL and other people's work: compare "
        "them only within a run; the CPU figures are the steadier ones.",
        f"Setup: {args.people} people, each with an anchor (signing certificate) and an auth "
        "link issued by bench CAs made with the simulator's issuing code, one passkey each "
        "registered through the real `PasskeyService` ceremony and consent pre-granted. "
        "Trust policy `method = \"crl\"` for both purposes, with a real signed CRL of "
        f"{args.revoked:,} revoked serials per CA indexed before the run (no J-LIS call during "
        "the run). A login is five HTTP requests: GET /authorize (fresh PKCE pair, no "
        "cookie) → GET the interaction (JSON), which brings the passkey options (a revision "
        "before 2026-12-03 afternoon: POST passkey_options after it, six requests) → the "
        "software authenticator signs (in the client: the *authenticator* column) → POST "
        "passkey_verify (anchor re-check inside; its answer carries the redirect with the "
        "code) → POST /token → GET /userinfo, a new HTTP session per login.",
    ]
    if result is not None:
        parts += [
            f"**Per request, in process** (`bench/login_profile.py`: {result.logins} logins one "
            "after another through Flask's test client on the same kind of database, "
            f"{result.logins / result.seconds:.0f} logins/s on one thread with the client in "
            "the same process). Server CPU is the app's own (Flask, SQLAlchemy, psycopg, the "
            "WebAuthn and anchor checks), not PostgreSQL's:",
            table(result),
        ]
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench login",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--workers", default="2,4", help="idp serve --workers, comma-separated")
    parser.add_argument("--threads", default="4",
                        help="idp serve --threads, comma-separated (1: gunicorn's sync worker)")
    parser.add_argument("--server", default="gunicorn",
                        help="idp serve --server, comma-separated (gunicorn, uwsgi; granian: "
                             "measured through bench/granian_app.py)")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql",
                        help="PostgreSQL (throwaway cluster, fsync on) or a SQLite file")
    parser.add_argument("--ab", metavar="REV", default=None,
                        help="also serve a git worktree of REV (e.g. HEAD~1), alternating")
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds (default 1, or 2 with --ab so each side goes first once)")
    parser.add_argument("--clients", type=int, default=3, help="load-generator processes")
    parser.add_argument("--seconds", type=float, default=8, help="per phase")
    parser.add_argument("--people", type=int, default=48)
    parser.add_argument("--revoked", type=int, default=100_000)
    parser.add_argument("--profile-logins", type=int, default=0,
                        help="logins for the in-process per-request table (0: none)")
    parser.add_argument("--cprofile", type=int, default=0, metavar="N",
                        help="with --profile-logins: print the app's N costliest functions "
                        "(cProfile, by own time)")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    args.rounds = args.rounds or (2 if args.ab else 1)
    configs = [(kind, int(w), int(t)) for kind in args.server.split(",")
               for t in args.threads.split(",") for w in args.workers.split(",")]
    with _sides(args.ab) as sides:
        rows = run(sides, configs, args.rounds, args.clients, args.seconds, args.people,
                   args.revoked, args.database)
    print(_table(rows), flush=True)
    result = None
    if args.profile_logins:
        print(f"passkey login in process: {args.profile_logins} logins ...", flush=True)
        profiler = cProfile.Profile() if args.cprofile else None
        result = run_profile(min(args.people, 16), args.revoked, args.profile_logins, profiler)
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(args.cprofile)
    report = _report(rows, result, args)
    print(report)
    if not args.no_write:
        write_section("Passkey login" if args.database == "postgresql"
                      else "Passkey login (sqlite)", report)
    return 0


@contextlib.contextmanager
def _sides(revision: str | None) -> Iterator[list[Side]]:
    """This checkout, and with ``revision`` a detached git worktree of it (removed after)."""
    this = Side("this checkout", None)
    if revision is None:
        yield [this]
        return
    root = Path(__file__).resolve().parent.parent
    short = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", revision],
                           check=True, capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as base:
        checkout = Path(base) / "checkout"
        subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", str(checkout),
                        revision], check=True, capture_output=True)
        try:
            yield [this, Side(f"{revision} ({short})", checkout)]
        finally:
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force",
                            str(checkout)], check=False, capture_output=True)
