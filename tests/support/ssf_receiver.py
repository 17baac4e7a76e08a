"""A Shared Signals receiver for tests: a real HTTP server on a free loopback port that takes
pushed Security Event Tokens (RFC 8935) and checks them as a relying party would, with the
IdP's published JWKS and joserfc.

``answers`` (status, body, delay seconds) are consumed one per push, the last one repeating;
every push is recorded with its headers. :meth:`Receiver.events` verifies the SETs it accepted
(2xx): signature by the JWKS, ``typ: secevent+jwt``, ``iss``, ``aud``, no ``sub`` nor ``exp``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet

OK = (202, b"", 0.0)


@dataclass
class Push:
    headers: dict[str, str]
    token: str
    status: int


@dataclass
class Receiver:
    answers: list[tuple[int, bytes, float]]
    pushes: list[Push] = field(default_factory=list)
    base_url: str = ""

    @property
    def url(self) -> str:
        return self.base_url + "/events"

    def next_answer(self) -> tuple[int, bytes, float]:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def accepted(self) -> list[Push]:
        return [push for push in self.pushes if 200 <= push.status < 300]

    def events(self, jwks: dict[str, Any], *, issuer: str, audience: str) -> list[dict[str, Any]]:
        """The claims of every SET accepted, each checked as RFC 8417 and SSF §4 ask."""
        return [verify(push.token, jwks, issuer=issuer, audience=audience)
                for push in self.accepted()]

    def wait_for(self, count: int, seconds: float = 10.0) -> list[Push]:
        deadline = time.monotonic() + seconds
        while len(self.accepted()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.accepted()


def verify(token: str, jwks: dict[str, Any], *, issuer: str, audience: str) -> dict[str, Any]:
    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    claims = dict(decoded.claims)
    assert decoded.header["typ"] == "secevent+jwt", decoded.header
    assert (claims["iss"], claims["aud"]) == (issuer, audience), claims
    assert "sub" not in claims
    assert "exp" not in claims
    assert len(claims["events"]) == 1, claims
    return claims


@contextmanager
def ssf_receiver(*answers: tuple[int, bytes, float]) -> Iterator[Receiver]:
    receiver = Receiver(list(answers) or [OK])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            token = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            status, body, delay = receiver.next_answer()
            time.sleep(delay)
            receiver.pushes.append(Push(dict(self.headers.items()), token, status))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
