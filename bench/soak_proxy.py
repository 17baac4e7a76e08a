"""A round-robin TCP proxy on loopback: one address in front of several ``idp serve`` nodes.

Each accepted connection goes to the next node in turn and its bytes are copied both ways until
either side closes. The soak's clients send ``Connection: close``, so each HTTP request is a
connection of its own and consecutive requests of one login land on different nodes (what a
load balancer without session affinity does). Connections per node are counted in shared memory
so the parent process can report them.

    proxy = RoundRobinProxy([("127.0.0.1", 8101), ("127.0.0.1", 8102)])
    proxy.start()            # a process of its own, so it takes no GIL from the clients
    ... http://127.0.0.1:{proxy.port} ...
    proxy.stop(); proxy.connections  # [n_node1, n_node2]
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

LOOPBACK = "127.0.0.1"
CHUNK = 65536
IDLE_SECONDS = 60.0  # longer than any request of the soak may take (its timeout is 30 s)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                stalled: Any, idle_seconds: float) -> None:
    try:
        while True:
            try:
                data = await asyncio.wait_for(reader.read(CHUNK), idle_seconds)
            except TimeoutError:
                stalled.value += 1  # nothing in either direction for that long: give up
                break
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass  # the other side went away: the pair is closed below
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()


async def _serve(listener: socket.socket, backends: Sequence[tuple[str, int]],
                 counters: Counters, idle_seconds: float) -> None:
    turn = 0
    live: set[asyncio.Task[Any]] = set()  # the loop holds tasks weakly: keep them till done

    async def handle(client_reader: asyncio.StreamReader,
                     client_writer: asyncio.StreamWriter) -> None:
        nonlocal turn
        index, turn = turn % len(backends), turn + 1
        task = asyncio.current_task()
        assert task is not None
        live.add(task)
        try:
            node_reader, node_writer = await asyncio.open_connection(*backends[index])
        except OSError:
            counters.refused.value += 1
            client_writer.close()
            live.discard(task)
            return
        counters.connections[index] += 1
        with contextlib.suppress(asyncio.CancelledError):  # the proxy stopping: close quietly
            await asyncio.gather(
                _pipe(client_reader, node_writer, counters.stalled, idle_seconds),
                _pipe(node_reader, client_writer, counters.stalled, idle_seconds))
        for writer in (client_writer, node_writer):
            writer.close()
        live.discard(task)

    server = await asyncio.start_server(handle, sock=listener, backlog=1024)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()
    os._exit(0)  # the counts are in shared memory; connections still open just end


@dataclass
class Counters:
    """Shared with the parent: connections per node, refused by a node, ended idle."""

    connections: Any
    refused: Any
    stalled: Any


def _run(listener: socket.socket, backends: Sequence[tuple[str, int]], counters: Counters,
         idle_seconds: float) -> None:
    asyncio.run(_serve(listener, backends, counters, idle_seconds))


class RoundRobinProxy:
    """The proxy as a child process listening on a free loopback port (``port``)."""

    def __init__(self, backends: Sequence[tuple[str, int]], *,
                 idle_seconds: float = IDLE_SECONDS) -> None:
        if not backends or any(host != LOOPBACK for host, _ in backends):
            raise ValueError("the soak proxy forwards to loopback nodes only")
        self.backends = list(backends)
        self._listener = socket.create_server((LOOPBACK, 0), backlog=1024)
        self.port: int = self._listener.getsockname()[1]
        context = multiprocessing.get_context("spawn")
        self._counters = Counters(context.Array("q", len(backends)), context.Value("q", 0),
                                  context.Value("q", 0))
        self._process = context.Process(target=_run, daemon=True, args=(
            self._listener, self.backends, self._counters, idle_seconds))

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def connections(self) -> list[int]:
        """Connections handed to each node so far."""
        return list(self._counters.connections[:])

    @property
    def refused(self) -> int:
        """Connections no node accepted (the client saw them closed at once)."""
        return int(self._counters.refused.value)

    @property
    def stalled(self) -> int:
        """Directions of a connection ended after ``idle_seconds`` without a byte."""
        return int(self._counters.stalled.value)

    def start(self) -> RoundRobinProxy:
        self._process.start()
        self._listener.close()  # the child holds its own copy
        return self

    def stop(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)

    def __enter__(self) -> RoundRobinProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
