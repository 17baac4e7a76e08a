"""Where a passkey login's server time goes, per request: measured in process.

``bench.login`` measures whole logins against ``idp serve``; this runs the same login (the same
``bench.login.login`` function) against the app in this process through Flask's test client,
on the same PostgreSQL database, one login after another, and attributes to each request:

* the CPU time the app spent on it (``time.process_time`` around the WSGI call: Flask,
  SQLAlchemy, psycopg, the WebAuthn and anchor checks; PostgreSQL's own work is not included);
* the SQL statements it sent, counted at the driver (psycopg's ``Cursor.execute`` and
  ``executemany``), so statements run on a raw DBAPI cursor (``idp.oidc.prepared``, the audit
  log's append) count too, and the PostgreSQL transactions they made (a statement on an
  autocommit connection is one; a transaction that ran a statement and ended by COMMIT or
  ROLLBACK is one). On SQLite (whose driver cannot be wrapped) only what goes through
  SQLAlchemy is counted.

The client side (the test client, the software authenticator) is not counted.
"""

from __future__ import annotations

import cProfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event

from idp.app import services_of

# The requests of a login: the interaction's face brings the passkey options, so a browser does
# not ask ``passkey_options`` for them (a request outside these is reported under its own name).
STEPS = ("authorize", "interaction", "passkey_verify", "token", "userinfo")


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

    def _statement(dbapi_connection: Any) -> None:
        statements[current[0]] += 1
        if getattr(dbapi_connection, "autocommit", False):
            transactions[current[0]] += 1
        else:
            pending.add(id(dbapi_connection))

    def _end(dbapi_connection: Any) -> None:
        if id(dbapi_connection) in pending:
            pending.discard(id(dbapi_connection))
            transactions[current[0]] += 1

    unhook = _count_at_driver(engine, _statement, _end)
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
        unhook()
    steps = [*STEPS, *sorted(set(cpu) - set(STEPS))]
    return Profile(logins, seconds, {s: cpu[s] * 1000 / logins for s in steps},
                   {s: statements[s] / logins for s in steps},
                   {s: transactions[s] / logins for s in steps})


def _count_at_driver(engine: Any, statement: Callable[[Any], None],
                     end: Callable[[Any], None]) -> Callable[[], None]:
    """Call ``statement(dbapi_connection)`` at every statement the driver sends and
    ``end(dbapi_connection)`` at every commit or rollback; answers the function that undoes it.
    psycopg's classes are wrapped for the run (every path counts, raw cursors included); for
    SQLite, SQLAlchemy's events (raw cursors not seen)."""
    if engine.dialect.name != "postgresql":
        def _seen(connection: Any, *_: Any) -> None:
            statement(connection.connection.dbapi_connection)

        def _ended(connection: Any) -> None:
            end(connection.connection.dbapi_connection)

        event.listen(engine, "before_cursor_execute", _seen)
        event.listen(engine, "commit", _ended)
        event.listen(engine, "rollback", _ended)

        def _unlisten() -> None:
            event.remove(engine, "before_cursor_execute", _seen)
            event.remove(engine, "commit", _ended)
            event.remove(engine, "rollback", _ended)
        return _unlisten

    import psycopg

    originals = {(cls, name): getattr(cls, name) for cls, name in (
        (psycopg.Cursor, "execute"), (psycopg.Cursor, "executemany"),
        (psycopg.Connection, "commit"), (psycopg.Connection, "rollback"))}

    def _sending(original: Any) -> Any:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            statement(self.connection)
            return original(self, *args, **kwargs)
        return wrapper

    def _ending(original: Any) -> Any:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            end(self)
            return original(self, *args, **kwargs)
        return wrapper

    for (cls, name), original in originals.items():
        setattr(cls, name, (_sending if cls is psycopg.Cursor else _ending)(original))

    def _restore() -> None:
        for (cls, name), original in originals.items():
            setattr(cls, name, original)
    return _restore


def table(result: Profile) -> str:
    lines = ["| request | server CPU / login | SQL statements | PostgreSQL transactions |",
             "|---|---|---|---|"]
    for step in result.cpu_ms:
        lines.append(f"| {step} | {result.cpu_ms[step]:.2f} ms | {result.statements[step]:.1f} "
                     f"| {result.transactions[step]:.1f} |")
    lines.append(f"| **all** | **{sum(result.cpu_ms.values()):.2f} ms** | "
                 f"**{sum(result.statements.values()):.1f}** | "
                 f"**{sum(result.transactions.values()):.1f}** |")
    if result.pg_transactions is not None:
        lines.append(f"| PostgreSQL's own count (pg_stat_database) | | | "
                     f"{result.pg_transactions:.1f} |")
    return "\n".join(lines)
