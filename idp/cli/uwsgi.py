"""`idp serve --server uwsgi`: the IdP under uWSGI (the `pyuwsgi` wheel), started in-process.

Why uWSGI: gunicorn parses HTTP in Python, about as much CPU per token request as the endpoint
itself; uWSGI's HTTP router is C (docs/benchmarks.md, "Token endpoint"). Layout:

- uWSGI's HTTP router (one C process, keep-alive on) listens on host:port and hands each request
  to a worker over a Unix socket in a private directory (mode 0700): the uwsgi protocol lets its
  sender set any WSGI environ value, so it is never exposed on a TCP port, not even loopback;
- ``workers`` processes × ``threads`` threads, each building its own app after the fork
  (``--lazy-apps``: no database connection or key file handle is shared across a fork);
- SIGTERM stops the server (uWSGI's default would reload it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from idp.settings import Settings

_SETTINGS: list[Settings] = []  # set by run() in the master; inherited by the forked workers
BUFFER_BYTES = 32768  # largest request head a worker accepts (uWSGI's default is 4 KiB)


def application() -> Any:
    """The WSGI app of one worker (uWSGI calls this after the fork)."""
    from idp.app import (
        create_app,
        with_events_worker,  # Shared Signals push delivery
        with_logout_worker,  # back-channel logout retries
    )

    return with_events_worker(with_logout_worker(create_app(_SETTINGS[0])))


def arguments(*, host: str, port: int, workers: int, threads: int,
              socket_dir: Path) -> list[str]:
    """uWSGI's command line for this instance."""
    return [
        "--strict", "--master", "--die-on-term", "--need-app", "--lazy-apps",
        "--http", f"{host}:{port}", "--http-keepalive=1",
        "--socket", str(socket_dir / "uwsgi.sock"), "--chmod-socket=600", "--vacuum",
        "--processes", str(workers), "--threads", str(threads), "--enable-threads",
        "--thunder-lock", "--buffer-size", str(BUFFER_BYTES), "--single-interpreter",
        "--module", f"{__name__}:application()",
        "--disable-logging",  # no access log, as under gunicorn; errors still go to stderr
    ]


def run(settings: Settings, *, host: str, port: int, workers: int, threads: int) -> None:
    import pyuwsgi

    socket_dir = settings.var_dir / "run"
    socket_dir.mkdir(parents=True, exist_ok=True)
    socket_dir.chmod(0o700)
    _SETTINGS.append(settings)
    pyuwsgi.run(arguments(host=host, port=port, workers=workers, threads=threads,
                          socket_dir=socket_dir))
