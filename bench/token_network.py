"""POST /token in process over a network to PostgreSQL: round trips and the audit head's lock.

``python -m bench token_network [--ab REV] [--delay-ms 0,0.25] [--threads 1,8]`` — the real app
(``create_app``, the fast path, the audit log on) on a durable PostgreSQL 15 cluster (fsync on),
reached through a TCP proxy in its own process that holds each chunk for ``--delay-ms`` each way
before passing it on: a database on another host, as several ``idp serve`` nodes share one. Its
round trip is measured and reported (Python's event loop adds its own to the delay asked). For
each delay and thread count: token requests per second, p50 and p99, and this process's CPU per
request. ``--ab REV`` runs the same from a git worktree of REV, the two alternating, for as many
rounds as ``--rounds``. ``python -m bench token`` (wrk and node-oidc-provider, the database on
this host's socket) is the endpoint's comparison; this one isolates what a network between the
IdP and its database costs each request.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.login import Side, _sides
from bench.report import write_section

REDIRECT = "https://rp.bench.invalid/cb"
# This file run as a program, whatever checkout is first on sys.path (an --ab side's may be one
# without this benchmark): its idp and tests.support are the side's, its code this one.
_THIS = [sys.executable, "-c", "import runpy, sys; sys.argv[0] = 'token_network'; "
         f"runpy.run_path({str(Path(__file__).resolve())!r}, run_name='__main__')"]


# -- the proxy: a network's latency between the IdP and PostgreSQL ---------------------------
def _proxy_main(listen: int, target: int, delay: float) -> None:
    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if delay:
                    await asyncio.sleep(delay)
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def handle(client_reader: asyncio.StreamReader,
                     client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target)
        await asyncio.gather(pipe(client_reader, server_writer),
                             pipe(server_reader, client_writer))

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", listen)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


@contextmanager
def _proxy(target: int, delay_ms: float) -> Iterator[int]:
    port = _free_port()
    process = subprocess.Popen([*_THIS, "--proxy", str(port), str(target),
                                str(delay_ms / 1000)])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield port
    finally:
        process.kill()
        process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- one side's run, in a process of its own (its checkout first on sys.path) -----------------
def _child(delays: list[float], threads: list[int], requests: int) -> list[dict[str, Any]]:
    import psycopg

    from idp import db
    from idp.accounts.sessions import COOKIE_NAME
    from idp.app import create_app, services_of
    from idp.oidc import clients
    from idp.settings import Settings
    from tests.support.login import login_session
    from tests.support.postgres import throwaway_cluster

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-tokennet-") as base, \
            throwaway_cluster(durable=True) as cluster:
        url = cluster.create_database()
        db.upgrade(url)
        for delay in delays:
            with _proxy(cluster.port, delay) as port:
                with psycopg.connect(f"host=127.0.0.1 port={port} user={cluster.user} "
                                     "dbname=postgres", autocommit=True) as connection:
                    started = time.perf_counter()
                    for _ in range(50):
                        connection.execute("SELECT 1")
                    rtt = (time.perf_counter() - started) / 50 * 1000
                settings = Settings(var_dir=Path(base) / f"var-{delay}",
                                    database_url=url.replace(f":{cluster.port}/", f":{port}/"))
                app = create_app(settings.model_copy(update={"oidc": settings.oidc.model_copy(
                    update={"issuer": "http://ours.bench.invalid"})}))
                with db.transaction(services_of(app).sessions) as session:
                    client_id, secret = clients.register(
                        session, name="bench", redirect_uris=[REDIRECT],
                        **{"access_token_format": "opaque", "id_token_alg": "ES256"})
                browser = app.test_client()
                browser.set_cookie(COOKIE_NAME, login_session(app)[1], domain="localhost")
                basic = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
                for count in threads:
                    codes = [_code(browser, client_id) for _ in range(requests + 20)]
                    rows.append({"delay_ms": delay, "rtt_ms": rtt, "threads": count,
                                 **_exchanges(app.test_client(), basic, codes, count)})
                services_of(app).engine.dispose()
    return rows


def _code(browser: Any, client_id: str) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()) \
        .rstrip(b"=").decode()
    answer = browser.get("/authorize", query_string={
        "response_type": "code", "client_id": client_id, "scope": "openid",
        "redirect_uri": REDIRECT, "state": "s", "nonce": "n", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    location = answer.headers["Location"]
    if "/interaction/" in location:  # consent, once per client
        state = browser.get(urlsplit(location).path,
                            headers={"Accept": "application/json"}).get_json()
        location = browser.post(state["actions"]["consent"]["href"],
                                json={"approve": True, "claims": []},
                                headers={"X-CSRF-Token": state["csrf_token"]}).get_json()[
            "redirect_to"]
    return parse_qs(urlsplit(location).query)["code"][0], verifier


def _exchanges(rp: Any, basic: str, codes: list[tuple[str, str]], count: int) -> \
        dict[str, Any]:
    """The codes exchanged from ``count`` threads (the first 20, one by one, to warm up)."""
    failures: list[int] = []
    latencies: list[float] = []

    def exchange(code: str, verifier: str) -> None:
        started = time.perf_counter()
        answer = rp.post("/token", data={
            "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": REDIRECT}, headers={"Authorization": basic})
        latencies.append(time.perf_counter() - started)
        if answer.status_code != 200:
            failures.append(answer.status_code)

    for code, verifier in codes[:20]:
        exchange(code, verifier)
    work, latencies[:] = codes[20:], []
    def exchange_all(part: list[tuple[str, str]]) -> None:
        for code, verifier in part:
            exchange(code, verifier)

    workers = [threading.Thread(target=exchange_all, args=(work[k::count],))
               for k in range(count)]
    wall, cpu = time.perf_counter(), time.process_time()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if failures:
        raise RuntimeError(f"token requests failed: {sorted(set(failures))}")
    latencies.sort()
    return {"per_second": len(work) / wall, "cpu_ms": cpu / len(work) * 1000,
            "p50_ms": latencies[len(latencies) // 2] * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000}


def _run_side(side: Side, args: argparse.Namespace) -> list[dict[str, Any]]:
    root = side.source or Path(__file__).resolve().parent.parent
    command = [*_THIS, "--child", "--delay-ms", args.delay_ms, "--threads", args.threads,
               "--requests", str(args.requests)]
    done = subprocess.run(command, cwd=root, env=dict(os.environ, PYTHONPATH=str(root)),
                          check=True, capture_output=True, text=True)
    rows: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return [dict(row, side=side.label) for row in rows]


def _table(rows: list[dict[str, Any]]) -> str:
    lines = ["| side | delay each way (asked) | round trip (measured) | threads | requests/s "
             "| p50 ms | p99 ms | CPU / request (this process) |",
             "|---|---|---|---|---|---|---|---|"]
    for row in sorted(rows, key=lambda r: (r["delay_ms"], r["threads"], r["side"])):
        lines.append(f"| {row['side']} | {row['delay_ms']:g} ms | {row['rtt_ms']:.2f} ms "
                     f"| {row['threads']} | {row['per_second']:,.0f} | {row['p50_ms']:.1f} "
                     f"| {row['p99_ms']:.1f} | {row['cpu_ms']:.2f} ms |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench token_network", description=__doc__)
    parser.add_argument("--ab", metavar="REV", default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--delay-ms", default="0,0.25", help="each way, comma-separated")
    parser.add_argument("--threads", default="1,8", help="comma-separated")
    parser.add_argument("--requests", type=int, default=800, help="per measurement")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--proxy", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.proxy:
        _proxy_main(int(args.proxy[0]), int(args.proxy[1]), float(args.proxy[2]))
        return 0
    delays = [float(d) for d in args.delay_ms.split(",")]
    threads = [int(t) for t in args.threads.split(",")]
    if args.child:
        print(json.dumps(_child(delays, threads, args.requests)))
        return 0
    rounds = args.rounds or (2 if args.ab else 1)
    rows: list[dict[str, Any]] = []
    with _sides(args.ab) as sides:
        for turn in range(rounds):
            for side in (sides if turn % 2 == 0 else sides[::-1]):
                print(f"round {turn + 1}: {side.label} ...", flush=True)
                rows.extend(_run_side(side, args))
    report = (f"`python -m bench token_network {' '.join(argv or sys.argv[1:])}` — "
              "POST /token (authorization_code + PKCE S256, client_secret_basic, ES256 ID "
              "token, opaque access token, the audit log on) in process, PostgreSQL 15 (fsync "
              "on) reached through a proxy that holds each chunk for the delay asked, each way; "
              f"{args.requests} requests a row, from 1 or several threads of one process "
              f"(load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} at the "
              f"end).\n\n{_table(rows)}\n")
    print(report)
    if not args.no_write:
        write_section("Token endpoint over a network", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
