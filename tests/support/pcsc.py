"""A private pcscd with vsmartcard's vpcd driver, and virtual cards attached to it.

Debian's pcscd 1.9 always listens on /run/pcscd/pcscd.comm (it ignores PCSCLITE_CSOCK_NAME, which
only the client library reads). To keep tests from colliding with each other or with a system
pcscd, the daemon runs in its own mount namespace with a private directory bind-mounted on
/run/pcscd; clients reach it through PCSCLITE_CSOCK_NAME pointing at that directory's socket. vpcd
listens on a free port pair (one per virtual slot) named in a private reader.conf (``-c DIR``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
READER = "Virtual PCD 00 00"  # vpcd's first slot; the second ("00 01") listens on port + 1
IDP = str(Path(sys.executable).with_name("idp"))


def missing() -> str | None:
    """Why the PC/SC stack cannot run here (None when it can)."""
    if not shutil.which("pcscd") or not VPCD_DRIVER.exists():
        return "pcscd and vsmartcard-vpcd are not installed (make system-deps)"
    if not shutil.which("unshare") or os.geteuid() != 0:
        return "a private pcscd needs root for its mount namespace (unshare -m)"
    return None


@dataclass(frozen=True)
class PcscStack:
    socket_path: Path
    vpcd_port: int
    reader: str = READER

    def env(self) -> dict[str, str]:
        """The environment for a PC/SC client of this daemon."""
        return {**os.environ, "PCSCLITE_CSOCK_NAME": str(self.socket_path)}

    @contextmanager
    def attached(self, card_file: Path) -> Iterator[subprocess.Popen[str]]:
        """`idp vcard attach` for ``card_file`` until the block ends (the card is removed)."""
        process = subprocess.Popen(
            [IDP, "vcard", "attach", "--card-file", str(card_file),
             "--vpcd", f"127.0.0.1:{self.vpcd_port}"],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        try:
            assert process.stderr is not None
            line = process.stderr.readline()
            assert "inserted" in line, line + process.stderr.read()
            time.sleep(0.5)  # pcscd polls card presence; let it power the card on
            yield process
        finally:
            stop(process)
            if process.stderr is not None:
                process.stderr.close()


def free_port_pair() -> int:
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return int(port)
    raise RuntimeError("no free port pair for vpcd")


@contextmanager
def private_pcscd(directory: Path) -> Iterator[PcscStack]:
    port = free_port_pair()
    conf, run = directory / "reader.conf.d", directory / "run"
    conf.mkdir(parents=True)
    run.mkdir()
    (conf / "vpcd").write_text(
        f'FRIENDLYNAME "Virtual PCD"\nDEVICENAME /dev/null:{port}\n'
        f"LIBPATH {VPCD_DRIVER}\nCHANNELID {port}\n")
    script = f"mkdir -p /run/pcscd && mount --bind {run} /run/pcscd && exec pcscd -f -c {conf}"
    log = (directory / "pcscd.log").open("w")
    daemon = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                               script], stdout=log, stderr=subprocess.STDOUT)
    try:
        stack = PcscStack(run / "pcscd.comm", port)
        _wait_for(stack.socket_path, daemon, directory / "pcscd.log")
        yield stack
    finally:
        stop(daemon)
        log.close()


def _wait_for(path: Path, daemon: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while not path.exists():
        if daemon.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"pcscd did not start: {log.read_text()}")
        time.sleep(0.05)


def stop(process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
