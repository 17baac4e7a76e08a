"""Where a passkey login's server time goes, per request: measured in process.

``bench.login`` measures whole logins against ``idp serve``; this runs the same login (the same
``bench.login.login`` function) against the app in this process through Flask's test client,
on the same PostgreSQL database, one login after another, and attributes to each request:

* the CPU time the app spent on it (``time.process_time`` around the WSGI call: Flask,
  SQLAlchemy, psycopg, the WebAuthn and anchor checks; PostgreSQL's own work is not included);
* the SQL statements it sent through SQLAlchemy, and the PostgreSQL transactions they made (a
  statement on an autocommit connection is one; a BEGIN ... COMMIT/ROLLBACK that ran a statement
  is one). Statements sent on a raw DBAPI connection (the token endpoint's ``idp.oidc.prepared``)
  are not seen per request; PostgreSQL's own count of the run covers every path.

The client side (the test client, the software authenticator) is not counted.
"""

from __future__ import annotations

import cProfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event

from idp.app import services_of

STEPS = ("authorize", "interaction", "passkey_options", "passkey_verify", "token", "userinfo")


@dataclass(frozen=True)
class Profile:
    logins: int
    seconds: float  # wall time of all logins, one after another
    cpu_ms: dict[str, float]  # per login
    statements: dict[str, float]
    transactions: dict[str, float]
    pg_transactions: float | None = None  # per login, as PostgreSQL counted them (all paths)


def step_of(method: str, path: str) -> str:
    if path == "/authorize":
        return "authorize"
    if path.endswith("/passkey/options"):
        return "passkey_options"
    if path.endswith("/passkey/verify"):
        return "passkey_verify"
    if path.startswith("/interaction/") and method == "GET":
        return "interaction"
    return path.strip("/") or "other"


class _Http:
    """The slice of ``requests.Session`` that ``bench.login.login`` uses, over a test client."""

    def __init__(self, app: Any) -> None:
        self._client = app.test_client()

    def get(self, url: str, *, params: dict[str, str] | None = None,
            allow_redirects: bool = True, **kwargs: Any) -> _Answer:
        return _Answer("GET", url, self._client.get(url, query_string=params, **kwargs))

    def post(self, url: str, **kwargs: Any) -> _Answer:
        return _Answer("POST", url, self._client.post(url, **kwargs))


class _Answer:
    def __init__(self, method: str, url: str, response: Any) -> None:
        self.status_code, self.headers, self.url = response.status_code, response.headers, url
        self.text = response.get_data(as_text=True)
        self.request = type("Request", (), {"method": method})
        self._response = response

    def json(self) -> Any:
        return self._response.get_json()


def profile(app: Any, target: Any, authenticator: Any, credential_ids: list[bytes],
            logins: int, cprofile: cProfile.Profile | None = None) -> Profile:
    """``logins`` logins against ``app`` (after one warm-up per credential); with
    ``cprofile``, the app's side of the measured logins is profiled into it (not the client's).
    """
    from bench.login import login

    engine, current = services_of(app).engine, ["-"]
    cpu: defaultdict[str, float] = defaultdict(float)
    statements: Counter[str] = Counter()
    transactions: Counter[str] = Counter()
    pending: set[int] = set()  # connections with a statement in their open transaction

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(connection: Any, *_: Any) -> None:
        statements[current[0]] += 1
        if getattr(connection.connection.dbapi_connection, "autocommit", False):
            transactions[current[0]] += 1
        else:
            pending.add(id(connection))

    def _end(connection: Any) -> None:
        if id(connection) in pending:
            pending.discard(id(connection))
            transactions[current[0]] += 1

    event.listen(engine, "commit", _end)
    event.listen(engine, "rollback", _end)
    inner, measuring = app.wsgi_app, False

    def timed(environ: dict[str, Any], start_response: Any) -> Any:
        current[0] = step_of(environ["REQUEST_METHOD"], environ["PATH_INFO"])
        started = time.process_time()
        if cprofile is not None and measuring:
            cprofile.enable()
        try:
            return list(inner(environ, start_response))
        finally:
            if cprofile is not None:
                cprofile.disable()
            cpu[current[0]] += time.process_time() - started

    app.wsgi_app = timed
    try:
        for credential_id in credential_ids:
            login(target, authenticator, credential_id, session=lambda: _Http(app))
        for counter in (cpu, statements, transactions):
            counter.clear()
        measuring = True
        started = time.perf_counter()
        for turn in range(logins):
            login(target, authenticator, credential_ids[turn % len(credential_ids)],
                  session=lambda: _Http(app))
        seconds = time.perf_counter() - started
    finally:
        app.wsgi_app = inner
        event.remove(engine, "before_cursor_execute", _statement)
        event.remove(engine, "commit", _end)
        event.remove(engine, "rollback", _end)
    return Profile(logins, seconds, {s: cpu[s] * 1000 / logins for s in STEPS},
                   {s: statements[s] / logins for s in STEPS},
                   {s: transactions[s] / logins for s in STEPS})


def table(result: Profile) -> str:
    lines = ["| request | server CPU / login | SQL statements | PostgreSQL transactions |",
             "|---|---|---|---|"]
    for step in STEPS:
        lines.append(f"| {step} | {result.cpu_ms[step]:.2f} ms | {result.statements[step]:.1f} "
                     f"| {result.transactions[step]:.1f} |")
    lines.append(f"| **all** | **{sum(result.cpu_ms.values()):.2f} ms** | "
                 f"**{sum(result.statements.values()):.1f}** | "
                 f"**{sum(result.transactions.values()):.1f}** |")
    if result.pg_transactions is not None:
        lines.append(f"| PostgreSQL's own count (pg_stat_database) | | | "
                     f"{result.pg_transactions:.1f} |")
    return "\n".join(lines)
