"""Code exchange cost in process: Authlib's AuthorizationServer next to our protocol core.

The evidence behind docs/adr/0001-oidc-core-not-authlib-server.md. Both sides run in this one
process behind Flask's test client (no sockets, no WSGI server), answer the same request
(authorization code + PKCE S256, client_secret_basic, ``scope=openid``) with the same token
format (opaque access token, refresh token, ES256 ID token with ``nonce``, ``acr``, ``amr``,
``auth_time``), and are timed request by request over the same number of exchanges:

    python -m bench authlib [--exchanges N] [--authlib-store sqlite|memory]

Authlib's side is the minimal server its documentation describes: ``AuthorizationCodeGrant``
with ``CodeChallenge(required=True)`` and ``OpenIDCode``, clients/codes/tokens in a store of
ours. ``--authlib-store sqlite`` (default) keeps codes and token hashes in a SQLite file, one
commit per exchange as ours does; ``memory`` uses dicts, a lower bound that no real deployment
reaches (codes must survive a restart and be shared by the worker processes).
Our side is the real app (``create_app``) on a migrated SQLite file, its codes minted through
its own /authorize. Minting is not timed; only POST /token is.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.authlib_server import AuthlibServer, make_store
from bench.token_endpoint import CHALLENGE, REDIRECT_URI, VERIFIER


@dataclass(frozen=True)
class Timing:
    name: str
    exchanges: int
    mean_us: float
    p50_us: float
    p99_us: float

    def line(self) -> str:
        return (f"{self.name:<22} {self.exchanges:>6} exchanges  mean {self.mean_us:8.0f} µs  "
                f"p50 {self.p50_us:8.0f} µs  p99 {self.p99_us:8.0f} µs")


def timed(name: str, exchange: Callable[[str], dict[str, Any]], codes: list[str]) -> Timing:
    """Time ``exchange(code)`` once per code; every answer must carry an ID token."""
    samples = []
    for code in codes:
        started = time.perf_counter()
        answer = exchange(code)
        samples.append((time.perf_counter() - started) * 1e6)
        if "id_token" not in answer or "refresh_token" not in answer:
            raise RuntimeError(f"{name}: the exchange did not issue the tokens: {answer}")
    samples.sort()
    return Timing(name, len(samples), statistics.fmean(samples), samples[len(samples) // 2],
                  samples[min(len(samples) - 1, int(len(samples) * 0.99))])


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def token_form(code: str) -> dict[str, str]:
    return {"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER,
            "redirect_uri": REDIRECT_URI}


def run_authlib(count: int, store_kind: str, workdir: Path) -> Timing:
    workdir.mkdir(parents=True, exist_ok=True)
    server = AuthlibServer(make_store(store_kind, workdir / "authlib.sqlite3"))
    client_id, secret = server.add_client(REDIRECT_URI)
    codes = [server.mint_code(client_id, REDIRECT_URI, CHALLENGE, nonce="n")
             for _ in range(count)]
    browser = server.app.test_client()
    headers = basic(client_id, secret)

    def exchange(code: str) -> dict[str, Any]:
        answer: dict[str, Any] = browser.post("/token", data=token_form(code),
                                              headers=headers).get_json()
        return answer

    return timed(f"authlib ({store_kind})", exchange, codes)


def run_ours(count: int, workdir: Path) -> Timing:
    from bench.ours_inprocess import OursInProcess

    ours = OursInProcess(workdir, REDIRECT_URI)
    try:
        codes = [ours.mint_code(CHALLENGE) for _ in range(count)]
        headers = basic(ours.client_id, ours.client_secret)

        def exchange(code: str) -> dict[str, Any]:
            answer: dict[str, Any] = ours.browser.post("/token", data=token_form(code),
                                                       headers=headers).get_json()
            return answer

        return timed("ours (sqlite)", exchange, codes)
    finally:
        ours.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench authlib", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exchanges", type=int, default=2000, help="codes exchanged per side")
    parser.add_argument("--authlib-store", choices=["sqlite", "memory"], default="sqlite")
    parser.add_argument("--warmup", type=int, default=50, choices=range(1, 100001),
                        metavar="N", help="untimed exchanges first")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-authlib-") as tmp:
        workdir = Path(tmp)
        results = []
        for name, run in (("authlib", lambda n, d: run_authlib(n, args.authlib_store, d)),
                          ("ours", run_ours)):
            (workdir / name).mkdir()
            run(args.warmup, workdir / name / "warmup")  # imports, key loading, caches
            results.append(run(args.exchanges, workdir / name / "timed"))
    for result in results:
        print(result.line())
    authlib, ours = results
    print(f"Authlib / ours: mean {authlib.mean_us / ours.mean_us:.2f}, "
          f"p50 {authlib.p50_us / ours.p50_us:.2f} (> 1: ours answers faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
