"""Token endpoint benchmark: our IdP side by side with node-oidc-provider.

Both servers run with the same number of processes, the same flow (authorization code + PKCE
S256, client_secret_basic) and the same token format (opaque access token, ES256 ID token).
Codes are single-use, so the harness first mints one code per request through each server's real
authorization endpoint, then `wrk` posts them to /token (bench/token.lua). Reports requests/s,
p50/p99 and the ratio ours / node (goal ≥ 1.0).

    python -m bench token [--database sqlite|postgresql] [--processes P] [--connections C]
                          [--server uwsgi|gunicorn]

``--processes`` sets our worker processes; node-oidc-provider always runs one process, because
its in-memory store is per process (a code minted by one process is unknown to another).
``--database postgresql`` runs ours against a throwaway cluster (tests/support/postgres.py) with
fsync and synchronous_commit turned back on, as in production. ``--server`` picks the server
behind `idp serve` (uwsgi by default: chosen on measurements, docs/benchmarks.md); with uwsgi its
HTTP router is one more (C) process next to our workers.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import dataclasses
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

BENCH_DIR = Path(__file__).parent
NODE_DIR = BENCH_DIR / "node"
VERIFIER = "bench-verifier-" + "x" * 40  # fixed: every minted code shares one PKCE pair
CHALLENGE = (base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest())
             .rstrip(b"=").decode())
REDIRECT_URI = "https://rp.bench.invalid/callback"


@dataclass(frozen=True)
class Target:
    name: str
    base_url: str
    client_id: str
    client_secret: str
    session: requests.Session  # carries the login session the codes are minted under


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_200: int  # real failures: answers other than 200 while the thread still had codes
    first_failure: str = ""
    exhausted: int = 0  # requests sent after a thread ran out of codes: the run is too short

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def discover(target: Target) -> dict[str, str]:
    answer = target.session.get(f"{target.base_url}/.well-known/openid-configuration", timeout=10)
    answer.raise_for_status()
    metadata: dict[str, str] = answer.json()
    return metadata


def mint_code(target: Target, authorization_endpoint: str) -> str:
    """One authorization code, by following the real redirects until the client's redirect URI."""
    params = {"response_type": "code", "client_id": target.client_id, "scope": "openid",
              "redirect_uri": REDIRECT_URI, "state": "s", "nonce": "n",
              "code_challenge": CHALLENGE, "code_challenge_method": "S256"}
    url = f"{authorization_endpoint}?{urllib.parse.urlencode(params)}"
    for _ in range(10):
        answer = target.session.get(url, allow_redirects=False, timeout=10,
                                    headers={"Accept": "application/json"})
        location = answer.headers.get("Location") or _consent(target, answer)
        if location is None:
            raise RuntimeError(f"{target.name}: no redirect from {url}: {answer.status_code}")
        url = urllib.parse.urljoin(url, location)
        if url.startswith(REDIRECT_URI):
            query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
            if "code" not in query:
                raise RuntimeError(f"{target.name}: authorization failed: {query}")
            return query["code"][0]
    raise RuntimeError(f"{target.name}: too many redirects")


def _consent(target: Target, answer: requests.Response) -> str | None:
    """Our IdP asks for consent once per client, through the interaction JSON face."""
    if answer.status_code != 200 or "json" not in answer.headers.get("Content-Type", ""):
        return None
    state = answer.json()
    if state.get("prompt") != "consent":
        return None
    action = state["actions"]["consent"]
    posted = target.session.post(urllib.parse.urljoin(answer.url, action["href"]),
                                 json={"approve": True, "claims": []}, timeout=10,
                                 headers={"X-CSRF-Token": state["csrf_token"]})
    posted.raise_for_status()
    location: str = posted.json()["redirect_to"]
    return location


def mint_codes(target: Target, count: int, *, parallel: int = 4) -> list[str]:
    """``count`` fresh codes, minted by ``parallel`` sessions sharing the login cookie: codes live
    ≤ 60 s, so a long serial mint would hand wrk codes that expire during the run."""
    endpoint = discover(target)["authorization_endpoint"]
    mint_code(target, endpoint)  # consent, when asked, is given once before the threads start

    def mint_share(share: int) -> list[str]:
        session = requests.Session()
        session.cookies.update(target.session.cookies)
        clone = dataclasses.replace(target, session=session)
        return [mint_code(clone, endpoint) for _ in range(share)]

    shares = [count // parallel + (i < count % parallel) for i in range(parallel)]
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        return [code for minted in pool.map(mint_share, shares) for code in minted]


def run_wrk(target: Target, codes: list[str], *, connections: int, threads: int,
            seconds: int) -> Result:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed: make bench installs it (apt package wrk)")
    token_path = urllib.parse.urlparse(discover(target)["token_endpoint"]).path
    basic = base64.b64encode(f"{target.client_id}:{target.client_secret}".encode()).decode()
    suffix = "&" + urllib.parse.urlencode({"redirect_uri": REDIRECT_URI,
                                           "code_verifier": VERIFIER})
    with tempfile.NamedTemporaryFile("w", suffix=".codes", delete=False) as file:
        file.write("\n".join(codes) + "\n")
    env = {**os.environ, "CODES_FILE": file.name, "WRK_THREADS": str(threads),
           "TOKEN_PATH": token_path, "TOKEN_AUTH": f"Basic {basic}",
           "TOKEN_BODY_SUFFIX": suffix}
    try:
        output = subprocess.run(
            [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
             "-s", str(BENCH_DIR / "token.lua"), target.base_url],
            env=env, capture_output=True, text=True, timeout=120, check=True).stdout
    finally:
        os.unlink(file.name)
    return _parse_wrk(target.name, output)


def _parse_wrk(name: str, output: str) -> Result:
    match = re.search(r"WRK_RESULT requests=(\d+) failures=(\d+) exhausted=(\d+) p50_us=(\d+) "
                      r"p99_us=(\d+) duration_us=(\d+)", output)
    if match is None:
        raise RuntimeError(f"wrk gave no result:\n{output}")
    total, failed, exhausted, p50, p99, duration = (int(group) for group in match.groups())
    failure = re.search(r"WRK_FIRST_FAILURE (.*)", output)
    return Result(name, total, duration / 1e6, p50 / 1000, p99 / 1000, failed,
                  failure.group(1) if failure else "", exhausted)


def start_node(port: int, client_id: str, client_secret: str) -> \
        tuple[subprocess.Popen[bytes], Target]:
    if not (NODE_DIR / "node_modules" / "oidc-provider").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)
    process = subprocess.Popen(["node", "server.js", str(port), client_id, client_secret,
                                REDIRECT_URI], cwd=NODE_DIR)
    wait_until_up(f"http://127.0.0.1:{port}/.well-known/openid-configuration")
    return process, Target("node-oidc-provider", f"http://127.0.0.1:{port}", client_id,
                           client_secret, requests.Session())


def wait_until_up(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def database(kind: str) -> Iterator[dict[str, str]]:
    """Environment naming the database ours uses: the instance's SQLite file, or a throwaway
    PostgreSQL cluster with PostgreSQL's durable defaults (the test clusters run with fsync
    off; until 2026-11-21 this asked for fsync by ALTER SYSTEM, which the cluster's command-line
    options overrode, so earlier "fsync on" figures were not)."""
    if kind == "sqlite":
        yield {}
        return
    import psycopg

    from tests.support.postgres import throwaway_cluster

    with throwaway_cluster(durable=True) as cluster:
        with psycopg.connect(f"host=127.0.0.1 port={cluster.port} user={cluster.user} "
                             "dbname=postgres", autocommit=True) as connection:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                row = connection.execute(f"SHOW {setting}").fetchone()
                if row is None or row[0] != "on":  # the report says "fsync on": make sure
                    raise RuntimeError(f"the benchmark cluster runs with {setting} = {row}")
        yield {"IDP_DATABASE_URL": cluster.create_database()}


def start_ours(port: int, workers: int, var_dir: Path, db_env: dict[str, str],
               extra: list[str]) -> tuple[subprocess.Popen[bytes], Target]:
    """Our IdP under `idp serve` with a fresh instance, a client and a login session."""
    from bench.ours import prepare_instance

    env = {**os.environ, "IDP_VAR_DIR": str(var_dir),
           "IDP_OIDC__ISSUER": f"http://127.0.0.1:{port}", "IDP_CONFIG": "/dev/null", **db_env}
    client_id, client_secret, cookie = prepare_instance(env, REDIRECT_URI)
    process = subprocess.Popen([str(Path(sys.executable).parent / "idp"), "serve", "--host",
                                "127.0.0.1", "--port", str(port), "--workers", str(workers),
                                *extra],
                               env=env, stderr=subprocess.DEVNULL)
    wait_until_up(f"http://127.0.0.1:{port}/.well-known/openid-configuration")
    session = requests.Session()
    session.cookies.set(cookie[0], cookie[1], domain="127.0.0.1")
    return process, Target("ours", f"http://127.0.0.1:{port}", client_id, client_secret, session)


def measure(target: Target, *, seconds: int, connections: int, threads: int,
            codes: int) -> Result:
    """Mint enough codes for the whole run; retry with more when wrk ran out of them."""
    for _ in range(4):
        result = run_wrk(target, mint_codes(target, codes), connections=connections,
                         threads=threads, seconds=seconds)
        if result.non_200:
            raise RuntimeError(f"{target.name}: {result.non_200} token requests failed, "
                               f"the first with: {result.first_failure}")
        if not result.exhausted:
            return result
        # A thread ran out of codes: its later requests were refused by design, and those fast
        # 400s would inflate requests/s. (Comparing the request total with the number of codes
        # missed this when the threads' shares ran out unevenly.)
        codes *= 2
    raise RuntimeError(f"{target.name}: ran out of codes even with {codes}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _report(results: list[Result], args: argparse.Namespace) -> str:
    ours, node = results
    rows = "\n".join(f"| {r.name} | {r.per_second:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} |"
                     for r in results)
    store = "SQLite (WAL)" if args.database == "sqlite" else "PostgreSQL 15 (fsync on)"
    threads = f"{args.threads} thread(s)" if args.threads else "idp serve's default threads"
    threads_option = f" --threads {args.threads}" if args.threads else ""
    return (
        f"`python -m bench token --database {args.database} --processes {args.processes} "
        f"--server {args.server}{threads_option}` — "
        f"POST /token (authorization_code + PKCE S256, client_secret_basic, ES256 ID token, "
        f"opaque access token); ours: `idp serve --server {args.server}` with {args.processes} "
        f"process(es) × {threads} + {store}; "
        f"node-oidc-provider 9: 1 process (its in-memory store is per process), writing "
        f"nothing to disk. wrk with {args.connections} connections for {args.seconds} s, on "
        f"this machine's 2 cores shared by server and load generator (load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} at the end, other engineers' work "
        f"included).\n\n"
        f"| server | token requests/s | p50 ms | p99 ms |\n|---|---|---|---|\n{rows}\n\n"
        f"**Ratio ours / node-oidc-provider: {ours.per_second / node.per_second:.2f}×** "
        f"(goal ≥ 1.0×).\n")


def _serve_options(args: argparse.Namespace) -> list[str]:
    options = ["--threads", str(args.threads)] if args.threads else []
    return [*options, "--server", args.server]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench token", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--processes", type=int, default=1,
                        help="our server processes (node runs one: its store is per process)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads per worker of ours (default: 1 on SQLite, where one "
                             "writer at a time makes more threads wait in SQLite's busy "
                             "handler; idp serve's default on PostgreSQL)")
    parser.add_argument("--server", choices=("gunicorn", "uwsgi"), default="uwsgi",
                        help="idp serve --server (uwsgi: chosen on measurements, see docs)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--codes", type=int, default=4000, help="codes minted per attempt")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.threads is None and args.database == "sqlite":
        args.threads = 1
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-token-") as workdir, \
            database(args.database) as db_env:
        process, target = start_ours(_free_port(), args.processes, Path(workdir), db_env,
                                     _serve_options(args))
        try:
            results.append(measure(target, seconds=args.seconds, connections=args.connections,
                                   threads=2, codes=args.codes))
        finally:
            process.terminate()
            process.wait(timeout=30)
    process, node = start_node(_free_port(), "bench-client", "bench-secret-0123456789")
    try:
        results.append(measure(node, seconds=args.seconds, connections=args.connections,
                               threads=2, codes=args.codes))
    finally:
        process.terminate()
        process.wait(timeout=30)
    report = _report(results, args)
    print(report)
    if not args.no_write:
        from bench.report import write_section

        plural = "es" if args.processes > 1 else ""
        write_section(f"Token endpoint ({args.database}, {args.processes} process{plural})",
                      report)
    return 0
