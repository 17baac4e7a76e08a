"""`idp serve`: the IdP behind gunicorn or uWSGI (production) or Werkzeug (`--dev`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from idp import logs
from idp.cli.support import get_settings


@click.command("serve")
@click.option("--host", default=None, help="Listen address (default: server.host).")
@click.option("--port", type=int, default=None, help="Listen port (default: server.port).")
@click.option("--workers", type=int, default=None,
              help="Worker processes (default: server.workers)."
)
@click.option("--threads", type=int, default=None,
              help="Threads per worker (default: server.threads); 1 uses the sync worker.")
@click.option("--server", "server_kind", type=click.Choice(["gunicorn", "uwsgi"]), default=None,
              help="Production server (default: server.kind); see docs/operations.md.")
@click.option("--dev", is_flag=True, help="Werkzeug's single-process server with reloading off.")
def serve(host: str | None, port: int | None, workers: int | None, threads: int | None,
          server_kind: str | None, dev: bool) -> None:
    """Run the IdP (production: gunicorn, see docs/operations.md)."""
    from idp.app import (
        create_app,
        with_events_worker,  # Shared Signals push delivery
        with_logout_worker,  # back-channel logout retries
    )

    settings = get_settings()
    logs.configure(settings.logging, settings.log_level)
    if not dev:  # the workers' metrics, summed at every scrape (docs/operations.md, "Metrics")
        _multiprocess_metrics(settings.metrics_dir)

    def app() -> Any:  # with its delivery threads: logout tokens, Security Event Tokens
        return with_events_worker(with_logout_worker(create_app(settings)))

    host = host or settings.server.host
    port = port or settings.server.port
    if dev:
        app().run(host=host, port=port, threaded=True, use_reloader=False)
        return
    threads = threads or settings.server.threads
    workers = workers or settings.server.workers
    if (server_kind or settings.server.kind) == "uwsgi":
        from idp.cli import uwsgi as uwsgi_server

        uwsgi_server.run(settings, host=host, port=port, workers=workers, threads=threads)
        return
    _Gunicorn(settings_factory=app, options={
        "bind": f"{host}:{port}", "workers": workers,
        "worker_class": "gthread" if threads > 1 else "sync", "threads": threads,
        "accesslog": None, "errorlog": "-",
        "worker_tmp_dir": str(_shm_or_tmp()), "preload_app": False,
        "child_exit": _child_exit,
    }).run()


def _multiprocess_metrics(directory: Path) -> None:
    """Prometheus multi-process mode for the workers about to be forked: their metric files
    under ``directory``, emptied of an earlier run's (whose counts are gone with its workers).
    Set before any metric exists (``idp.metrics`` makes them on first use, in the workers)."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory.resolve())


def _child_exit(_server: Any, worker: Any) -> None:
    """gunicorn: a worker ended; its live gauges (breaker states) stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def _shm_or_tmp() -> Path:
    shm = Path("/dev/shm")  # noqa: S108  (gunicorn heartbeat files only)
    return shm if shm.is_dir() else Path("/tmp")  # noqa: S108  (gunicorn heartbeat files only)


class _Gunicorn:
    """gunicorn's BaseApplication, configured in code rather than from a file."""

    def __new__(cls, settings_factory: Any, options: dict[str, Any]) -> Any:
        from gunicorn.app.base import BaseApplication

        class Application(BaseApplication):  # type: ignore[misc]
            def load_config(self) -> None:
                for key, value in options.items():
                    self.cfg.set(key, value)

            def load(self) -> Any:
                return settings_factory()

        return Application()
