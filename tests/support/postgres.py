"""A throwaway PostgreSQL cluster for the test suite: initdb + pg_ctl in a temp dir.

PostgreSQL refuses to run as root, so under root the cluster runs as the `postgres` system user
(created by Debian's postgresql package). The cluster listens on a free loopback port and a
private Unix socket directory, so parallel runs never collide.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PG_BIN_CANDIDATES = [Path("/usr/lib/postgresql/15/bin"), Path("/usr/local/bin"), Path("/usr/bin")]


def pg_bin(name: str) -> str:
    for directory in PG_BIN_CANDIDATES:
        if (directory / name).exists():
            return str(directory / name)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found: install PostgreSQL (make system-deps)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Cluster:
    port: int
    user: str
    data: Path | None = None  # the data directory, for pg_ctl
    run_user: str | None = None  # the system user the server runs as (postgres under root)

    def restart(self) -> None:
        """``pg_ctl restart -m fast``, as an operator restarts the server: open connections are
        ended (transactions in flight roll back), then it starts again on the same port."""
        assert self.data is not None, "not a throwaway cluster"
        _run_as(self.run_user, [pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-l",
                                str(self.data.parent / "log"), "-w", "restart"])

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres",
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _run_as(user: str | None, args: list[str]) -> None:
    command = ["runuser", "-u", user, "--", *args] if user else args
    subprocess.run(command, check=True, capture_output=True)


@contextmanager
def throwaway_cluster(*, durable: bool = False) -> Iterator[Cluster]:
    """A PostgreSQL cluster in a temporary directory, removed afterwards. Tests run it without
    fsync (nothing to keep); ``durable`` keeps PostgreSQL's defaults (fsync, synchronous commit,
    full page writes on), for benchmarks that claim production durability."""
    as_root = os.geteuid() == 0
    run_user = "postgres" if as_root else None
    base = Path(tempfile.mkdtemp(prefix="idp-pg-"))
    data, sockets = base / "data", base / "sock"
    sockets.mkdir()
    if as_root:
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
        base.chmod(0o755)
    db_user = "postgres" if as_root else os.environ.get("USER", "postgres")
    port = free_port()
    _run_as(run_user, [pg_bin("initdb"), "-D", str(data), "-U", db_user, "--auth=trust",
                       "-E", "UTF8", "--no-locale"])
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c max_connections=200"
    if not durable:  # options given on the command line win over ALTER SYSTEM
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    _run_as(run_user, [pg_bin("pg_ctl"), "-D", str(data), "-o", options, "-l",
                       str(base / "log"), "-w", "start"])
    try:
        yield Cluster(port=port, user=db_user, data=data, run_user=run_user)
    finally:
        _run_as(run_user, [pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(base, ignore_errors=True)


def drop_connections(url: str) -> None:
    """End every other connection to ``url``'s database, as a server restart or a failover
    would (psycopg is imported here: only PostgreSQL tests need it)."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"),
                         autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = current_database() AND pid <> pg_backend_pid()")
