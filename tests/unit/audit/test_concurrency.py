"""Concurrent writers (workers, nodes) never lose or fork an entry: one valid chain."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from idp import db
from idp.audit import checkpoints, entries
from idp.audit.log import AuditLog
from tests.unit.audit.support import ORIGIN, keys

THREADS, EACH = 4, 15
_CHILD = """
import sys
from idp import db
from idp.audit.log import AuditLog
from idp.request_context import bind_request_id
engine = db.make_engine(sys.argv[1])
log = AuditLog(db.make_sessionmaker(engine), origin=sys.argv[2])
for number in range(int(sys.argv[3])):
    bind_request_id(f"child-{number}")
    log.record("jlis.call", actor="system", details={"service": "ocsp", "n": number})
"""


def _write(log: AuditLog, node: int, thread: int, start: threading.Barrier) -> None:
    start.wait()
    for number in range(EACH):
        log.record("login.card", actor=entries.person(f"n{node}-t{thread}"),
                   details={"n": number})


def test_two_nodes_with_threads_and_a_second_process_keep_one_chain(
        database_url: str, tmp_path: Path) -> None:
    """Two engines (two nodes' connection pools) × threads, and a separate process, append at
    once; afterwards the log is one chain holding every entry exactly once."""
    engines = [db.make_engine(database_url) for _ in range(2)]
    logs = [AuditLog(db.make_sessionmaker(e), origin=ORIGIN) for e in engines]
    start = threading.Barrier(THREADS * 2)
    threads = [threading.Thread(target=_write, args=(logs[n], n, t, start))
               for n in range(2) for t in range(THREADS)]
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, database_url, ORIGIN, str(EACH * 2)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert child.wait(timeout=120) == 0
    try:
        total = THREADS * 2 * EACH + EACH * 2
        chain = checkpoints.verify_log(logs[0], keys(tmp_path / "keys"))
        assert (chain.first, chain.size) == (1, total)
        written = logs[1].entries(limit=None)
        assert len({(e.actor, e.details["n"]) for e in written}) == total
        assert sum(e.action == "jlis.call" for e in written) == EACH * 2
    finally:
        for engine in engines:
            engine.dispose()


def test_verifying_while_the_idp_appends_raises_no_false_alarm(
        database_url: str, tmp_path: Path) -> None:
    """`idp audit verify` on a live IdP: entries appended during the run are left for the next
    one, never reported as removed or out of order."""
    engine = db.make_engine(database_url)
    log = AuditLog(db.make_sessionmaker(engine), origin=ORIGIN)
    signer = keys(tmp_path / "keys")
    done = threading.Event()

    def append() -> None:
        while not done.is_set():
            log.record("jlis.call", actor="system", details={"n": 0})

    writer = threading.Thread(target=append)
    writer.start()
    try:
        sizes = []
        for _ in range(5):
            sizes.append(checkpoints.verify_log(log, signer).size)
            checkpoints.create(log, signer)
    finally:
        done.set()
        writer.join()
        engine.dispose()
    assert sizes == sorted(sizes)
    assert sizes[-1] > 0
