"""Complete passkey logins against `idp serve` on PostgreSQL, with a 1M-entry CRL per CA.

    python -m bench login [--workers 2,4] [--threads 4,1] [--clients 4] [--seconds 20]
                          [--people 64] [--revoked 1000000] [--profile-logins 300]
                          [--no-write]

Each login, by one of ``--clients`` load-generator processes, is what a browser and a relying
party do: GET /authorize (fresh PKCE pair, no cookie) → the interaction's JSON → POST
``passkey_options`` → the software authenticator signs (``tests/support/webauthn_authenticator``)
→ POST ``passkey_verify`` (the anchor re-check inside: trust policy ``crl``, 1M-entry indexes
built before the run; consent pre-granted at setup, so its answer carries the redirect with the
code) → POST /token → GET /userinfo. Setup registers one passkey per person through the real
``PasskeyService`` ceremony (begin/finish registration, in process) and writes the anchors.
Then ``bench.login_profile`` runs the same login in process for the per-request breakdown.
Results go to stdout and to ``docs/benchmarks.md`` (section "Passkey login").
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import json
import multiprocessing
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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


def _authenticator(credentials: list[dict[str, Any]]) -> Any:
    from tests.support.webauthn_authenticator import SoftAuthenticator, SoftCredential

    authenticator = SoftAuthenticator()
    for item in credentials:
        key = load_pem_private_key(item["key"].encode(), None)
        credential = SoftCredential(bytes.fromhex(item["id"]), key,  # type: ignore[arg-type]
                                    "localhost", bytes.fromhex(item["user_handle"]))
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


def client(target: Target, number: int, clients: int, seconds: float,
           start_at: float) -> list[dict[str, float]]:
    """One load-generator process: its own share of the people (sign counters stay in order)."""
    mine = target.credentials[number::clients]
    authenticator = _authenticator(mine)
    ids = [bytes.fromhex(item["id"]) for item in mine]
    login(target, authenticator, ids[0])  # warm-up: connections, imports
    time.sleep(max(0.0, start_at - time.time()))
    results, turn = [], 0
    while time.time() < start_at + seconds:
        results.append(login(target, authenticator, ids[turn % len(ids)]))
        turn += 1
    return results


def _serve(var_dir: Path, database_url: str, port: int, workers: int,
           threads: int, server: str = "gunicorn") -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    url = f"http://localhost:{port}"
    env.update(IDP_VAR_DIR=str(var_dir), IDP_DATABASE_URL=database_url, IDP_CONFIG="/dev/null",
               IDP_OIDC__ISSUER=url, IDP_JLIS__URL="http://127.0.0.1:9",
               IDP_JLIS__API_KEY="bench-unused", IDP_TRUST__SIGN__METHOD="crl",
               IDP_TRUST__AUTH__METHOD="crl", IDP_WEBAUTHN__RP_ID="localhost",
               IDP_WEBAUTHN__ORIGINS=json.dumps([url]))
    process = subprocess.Popen([str(Path(sys.executable).parent / "idp"), "serve", "--host",
                                "127.0.0.1", "--port", str(port), "--workers", str(workers),
                                "--threads", str(threads), "--server", server],
                               env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/.well-known/openid-configuration", timeout=5).ok:
                return process
        except requests.RequestException:  # not listening yet, or workers still booting
            time.sleep(0.2)
    process.terminate()
    process.wait(timeout=30)
    raise RuntimeError("idp serve did not come up")


@dataclass(frozen=True)
class Row:
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


def run(workers: int, threads: int, clients: int, seconds: float, people: int,
        revoked: int, server_kind: str = "gunicorn") -> Row:
    from tests.support.postgres import throwaway_cluster
    from tests.support.sim import free_port

    with tempfile.TemporaryDirectory(prefix="bench-login-") as base, \
            throwaway_cluster() as cluster:
        port = free_port()
        url = f"http://localhost:{port}"
        database_url = cluster.create_database()
        target = prepare(Path(base) / "var", database_url, url, people, revoked)
        server = _serve(Path(base) / "var", database_url, port, workers, threads, server_kind)
        try:
            before = _transactions(database_url)
            start_at = time.time() + 5
            with multiprocessing.get_context("spawn").Pool(clients) as pool:
                shares = pool.starmap(client, [(target, n, clients, seconds, start_at)
                                               for n in range(clients)])
        finally:
            server.terminate()
            server.wait(timeout=30)
        time.sleep(1)  # the exiting backends flush their statistics
        spent = _transactions(database_url) - before
    samples = [s for share in shares for s in share]
    totals = [sum(s.values()) * 1000 for s in samples]
    cuts = statistics.quantiles(totals, n=100)
    steps = {step: statistics.fmean(s[step] for s in samples) * 1000 for step in STEPS}
    per_login = spent / (len(samples) + clients)  # + one warm-up login per client
    return Row(server_kind, workers, threads, clients, len(samples), seconds, cuts[49], cuts[98],
               steps, per_login)


def _shares(result: Profile | None) -> str:
    """passkey_verify's and token + userinfo's share of the server's CPU per login."""
    if result is None:
        return ""
    total = sum(result.cpu_ms.values())
    verify = result.cpu_ms["passkey_verify"] / total
    tokens = (result.cpu_ms["token"] + result.cpu_ms["userinfo"]) / total
    return (f"passkey_verify is {verify:.0%} of the server's CPU per login, token and userinfo "
            f"{tokens:.0%} ")


def _threads_note(rows: list[Row]) -> str:
    """Sync workers against gthread, from the rows of this run."""
    def best(threads: int) -> Row | None:
        found = [row for row in rows if row.threads == threads]
        return max(found, key=lambda row: row.logins) if found else None
    one, four = best(1), best(4)
    if one is None or four is None:
        return ""
    faster = "faster" if one.logins > four.logins else "not faster"
    return (f"One thread per worker (sync) was {faster} here: {one.logins / one.seconds:.1f} "
            f"against {four.logins / four.seconds:.1f} logins/s at best with four.")


def run_profile(people: int, revoked: int, logins: int) -> Profile:
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
            result = profile(app, target, _authenticator(target.credentials), ids, logins)
        finally:
            services_of(app).engine.dispose()
        time.sleep(1)  # the closed backends flush their statistics
        spent = _transactions(database_url) - before - 1  # - the reading of ``before``
    return replace(result, pg_transactions=spent / (logins + len(ids)))  # + warm-ups


def _transactions(database_url: str) -> int:
    """Commits + rollbacks so far in the benchmark's database (pg_stat_database)."""
    import psycopg

    with psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql"),
                         autocommit=True) as connection:
        row = connection.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database "
                                 "WHERE datname = current_database()").fetchone()
    return int(row[0]) if row else 0


def _table(rows: list[Row]) -> str:
    lines = ["| server | `idp serve` workers | threads per worker | client processes | logins | "
             "logins/s | p50 | p99 | PostgreSQL transactions / login | "
             + " | ".join(f"{s} (mean)" for s in STEPS) + " |",
             "|---" * (9 + len(STEPS)) + "|"]
    for row in rows:
        lines.append(f"| {row.server} | {row.workers} | {row.threads} | {row.clients} | "
                     f"{row.logins:,} | "
                     f"{row.logins / row.seconds:.1f} | {row.p50_ms:.1f} ms | "
                     f"{row.p99_ms:.1f} ms | {row.transactions:.1f} | "
                     + " | ".join(f"{row.step_ms[s]:.1f} ms" for s in STEPS) + " |")
    return "\n".join(lines)


def _report(rows: list[Row], result: Profile | None, people: int, revoked: int) -> str:
    machine = f"{platform.python_implementation()} {platform.python_version()}, " \
              f"{os.cpu_count()} CPU(s), {platform.machine()}"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    best = max(rows, key=lambda row: row.logins / row.seconds)
    rate = best.logins / best.seconds
    parts = [
        f"Command: `python -m bench login` ({datetime.now(UTC):%Y-%m-%d}, {machine}; "
        f"{rows[0].seconds:.0f} s per row after a warm-up login per client; load average "
        f"{load} at the end, other work on the machine included).",
        _table(rows),
        "Setup: `idp serve` (gunicorn unless the *server* column says uwsgi; 4 threads per "
        "worker is its default, gthread; 1 thread runs gunicorn's sync worker) on a "
        "throwaway PostgreSQL 15 cluster (fsync off), "
        f"{people} people, each with an anchor (signing certificate) and an auth link issued "
        "by bench CAs made with the simulator's issuing code, one passkey each registered "
        "through the real `PasskeyService` ceremony (begin/finish, in process) and consent "
        "to the client pre-granted. Trust policy `method = \"crl\"` for both purposes, with "
        f"a real signed CRL of {revoked:,} revoked serials per CA indexed before the run "
        "(no J-LIS call during the run). A login is seven HTTP requests: GET /authorize "
        "(fresh PKCE pair, no cookie) → GET the interaction (JSON) → POST passkey_options → "
        "the software authenticator signs (P-256, in the client: the *authenticator* column) "
        "→ POST passkey_verify (anchor re-check inside; with nothing left to ask, its answer "
        "carries the relying party's redirect with the code, so *to_code* is only parsing) → "
        "POST /token → GET /userinfo; each client process uses its own share of the people, "
        "a new HTTP session (no keep-alive reuse across logins) per login. p50/p99 are per "
        "whole login; transactions are PostgreSQL's count (commits + rollbacks, "
        "pg_stat_database) over the run, the back-channel logout thread's polling included. "
        "**Honesty note:** the machine has 2 cores, shared by the IdP's workers, PostgreSQL, "
        "the load-generator processes (which sign, hash and parse JSON in Python) and other "
        "people's work, so the figures understate what two dedicated cores would serve, and "
        "they vary by a fifth or more from one run to the next with that other work.",
    ]
    if result is not None:
        parts += [
            f"**Per request, in process** (`bench/login_profile.py`: {result.logins} logins one "
            "after another through Flask's test client on the same kind of database, "
            f"{result.logins / result.seconds:.0f} logins/s on one thread with the client in "
            "the same process). Server CPU is the app's own (Flask, SQLAlchemy, psycopg, the "
            "WebAuthn and anchor checks), not PostgreSQL's; the token endpoint runs its "
            "statements on a raw DBAPI connection, counted only in PostgreSQL's own line:",
            table(result),
        ]
    parts += [
        "**What changed (issue 5).** Before: 24.9 logins/s with 2 workers × 4 threads (p50 "
        "157 ms, p99 359 ms), 45 PostgreSQL transactions and 8 HTTP requests per login "
        "(2026-11-21, same machine and command). Since: (1) the interaction row is read once "
        "per request (`idp/web/binding.py` keeps it on `flask.g`): the "
        "browser-binding check loads it and the state, the CSRF check and resume reuse it; "
        "the check's single SELECT runs in autocommit (`db.single_read_sessions`), without "
        "BEGIN/ROLLBACK round trips. (2) No pool pre-ping on PostgreSQL (`idp/db.py`; it was a "
        "`SELECT 1` at every checkout, ~20% of in-process time): disconnects are handled "
        "optimistically, one failed use per worker then the pool reconnects (tested). "
        "(3) authorize writes the interaction already bound to the browser (one transaction, "
        "not two). (4) passkey_verify starts the session and, when nothing is left to ask, "
        "issues the code in one transaction (`Provider.log_in`) and answers the relying "
        "party's URL: the second GET of the interaction is gone. (5) A sign-in takes its "
        "challenge (`DELETE … RETURNING`) in the same transaction as the passkey check; a "
        "refusal still spends it. (6) Expired challenges are purged at one save in 64, not at "
        "every save. The anchor re-check still runs at every login; CSRF, browser binding, "
        "single-use challenges and the sign-in records are unchanged. Then 46–52 → 60–67 "
        "logins/s (same command, same day): the anchor re-check's read in autocommit and the "
        "token endpoint's last round (docs, *Token endpoint*); the machine was also less busy "
        "(load average 2.4 against 3.4 at the end of the runs), so not all of it is the code.",
        "**Where the time goes now.** " + _shares(result) + "(cProfile of passkey_verify, in "
        "process: the passkey check and its transaction ~2 ms, the anchor "
        "re-check with its read and its recorded result ~2 ms, the session and code "
        "transaction ~2 ms, the rest Flask, JSON and the session cookie). Nearly all of it is "
        "CPython running "
        "Flask and SQLAlchemy: each SQL statement costs ~0.15–0.3 ms of client CPU through "
        "the ORM and psycopg, each request ~0.5 ms of Flask and Werkzeug; the round trips "
        "themselves are short on loopback. Under gunicorn the workers spent ~18 ms of CPU per "
        "login (from /proc during a 2 × 4 run), a little more than in process (HTTP parsing, "
        "threads taking turns on the GIL). " + _threads_note(rows),
        f"**Against the goal (1,000 logins/s on two cores): still far off, about "
        f"{1000 / rate:.0f}× at {rate:.0f} logins/s.** "
        + (f"The app alone spends {sum(result.cpu_ms.values()):.0f} ms of CPU per login in "
           f"process, so two dedicated cores could serve at most about "
           f"{2000 / sum(result.cpu_ms.values()):.0f} logins/s before PostgreSQL and any "
           "client take their share. " if result is not None else "")
        + "1,000 logins/s leaves 2 ms of CPU per login for seven HTTP requests and about "
        "twenty statements, under 0.3 ms a request: a third of what the cheapest request "
        "here costs (authorize, one INSERT), so not reachable with this stack in CPython, "
        "whatever the number of transactions. Transactions went from 45 to "
        f"{best.transactions:.0f} per login (PostgreSQL's count; the issue's target was "
        "≤ 12): the requests of the login flow itself (authorize, the interaction, "
        "passkey_options, passkey_verify without its anchor re-check) make 7, the anchor "
        "re-check 2, token and userinfo the rest (userinfo's token and grant now one read, the "
        "token exchange two statements on a raw connection: docs, *Token endpoint*); the anchor "
        "re-check's read runs in autocommit, its write is one transaction. What is left, "
        "measured but not done: SQLAlchemy Core in place of ORM units in the passkey path "
        "(measured: a few percent). uWSGI, faster for the token endpoint alone, was not faster "
        "for whole logins (2 workers × 1 thread, 15 s each, same hour: gunicorn 63.1, uWSGI "
        "51.9 logins/s): a login's seven requests come on fresh connections, and the router "
        "is one more hop; gunicorn stays the default.",
    ]
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench login",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--workers", default="2,4", help="idp serve --workers, comma-separated")
    parser.add_argument("--threads", default="4,1",
                        help="idp serve --threads, comma-separated (1: gunicorn's sync worker)")
    parser.add_argument("--server", default="gunicorn",
                        help="idp serve --server, comma-separated (gunicorn, uwsgi)")
    parser.add_argument("--clients", type=int, default=4, help="load-generator processes")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--people", type=int, default=64)
    parser.add_argument("--revoked", type=int, default=1_000_000)
    parser.add_argument("--profile-logins", type=int, default=300,
                        help="logins for the in-process per-request table (0: none)")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args(argv)
    rows = []
    for kind, threads, workers in itertools.product(
            args.server.split(","), (int(t) for t in args.threads.split(",")),
            (int(w) for w in args.workers.split(","))):
        print(f"passkey login: {kind}, {workers} worker(s) x {threads} thread(s), "
              f"{args.clients} clients ...", flush=True)
        rows.append(run(workers, threads, args.clients, args.seconds, args.people,
                        args.revoked, kind))
        print(_table(rows[-1:]), flush=True)
    result = None
    if args.profile_logins:
        print(f"passkey login in process: {args.profile_logins} logins ...", flush=True)
        result = run_profile(min(args.people, 16), args.revoked, args.profile_logins)
    report = _report(rows, result, args.people, args.revoked)
    print(report)
    if not args.no_write:
        write_section("Passkey login", report)
    return 0
