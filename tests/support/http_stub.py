"""A relying party's HTTP endpoint on a free loopback port, scripted by the test.

``answers`` is consumed one per request (status, body, delay seconds); the last one repeats.
Every request is recorded (path, form body) so a test can see what the IdP sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class Stub:
    answers: list[tuple[int, bytes, float]]
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    base_url: str = ""

    def next_answer(self) -> tuple[int, bytes, float]:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@contextmanager
def http_stub(*answers: tuple[int, bytes, float]) -> Iterator[Stub]:
    stub = Stub(list(answers) or [(200, b"", 0.0)])

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, form: dict[str, str]) -> None:
            stub.requests.append((self.path, form))
            status, body, delay = stub.next_answer()
            time.sleep(delay)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._answer({})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            self._answer({k: v[0] for k, v in parse_qs(raw).items()})

        def log_message(self, *_args: object) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stub.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
