"""A TCP gate in front of the J-LIS simulator, to stage an outage: it forwards every connection
to the simulator, or it hangs — accepts connections and never answers, as a J-LIS that has
stopped responding looks to the IdP (each call then waits out ``jlis.timeout_seconds``).

    with JlisGate(sim.url) as gate:
        settings = ... jlis={"url": gate.url, ...}
        gate.hang()      # J-LIS stops answering
        gate.forward()   # J-LIS is back

Switching closes the connections open at that moment, so pooled keep-alive connections do not
carry traffic across the switch.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from urllib.parse import urlsplit


class JlisGate:
    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._hanging = False
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def hang(self) -> None:
        self._switch(hanging=True)

    def forward(self) -> None:
        self._switch(hanging=False)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._listener.close()
        self._switch(hanging=True)
        self._acceptor.join(5)

    def __enter__(self) -> JlisGate:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def _switch(self, *, hanging: bool) -> None:
        with self._lock:
            self._hanging = hanging
            connections, self._open = self._open, []
        for connection in connections:
            _close(connection)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                self._open.append(client)
                if self._hanging:
                    continue  # held open, never answered
            try:
                upstream = socket.create_connection(self._upstream, timeout=5)
                upstream.settimeout(None)  # idle keep-alive connections stay up
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.append(upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass  # the other side or a switch closed it
    finally:
        _close(source)
        _close(sink)


def _close(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    connection.close()
