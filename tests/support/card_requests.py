"""A stand-in IdP for card requests: serves one request, checks the answer, refuses a second."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from idp.errors import IdpError
from idp.jpki.certificate import parse_certificate
from idp.jpki.signature import verify_card_signature

ISSUER = "http://127.0.0.1/idp"


def to_be_signed(purpose: str, request_id: str, nonce: str = "n0nce") -> bytes:
    return f"jpki-idp/1\n{ISSUER}\n{purpose}\n{request_id}\n{nonce}".encode()


@dataclass
class CardRequestServer:
    request: dict[str, Any]
    url: str = ""
    answers: list[dict[str, Any]] = field(default_factory=list)

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.answers:
            return 409, {"error": "request_used", "error_description": "already answered"}
        try:
            certificate = parse_certificate(base64.b64decode(body["certificate"]))
            data = base64.urlsafe_b64decode(self.request["to_be_signed"] + "==")
            # The JPKI trust core decides, as the IdP will.
            verify_card_signature(certificate, base64.b64decode(body["signature"]), data)
        except (IdpError, KeyError, ValueError) as error:
            return 400, {"error": "bad_signature", "error_description": str(error)}
        self.answers.append(body)
        return 200, {"status": "accepted"}


def card_request(purpose: str = "login", certificate: str = "auth",
                 data: bytes | None = None) -> dict[str, Any]:
    request_id = hashlib.sha256(purpose.encode()).hexdigest()[:16]
    tbs = data if data is not None else to_be_signed(purpose, request_id)
    return {"request_id": request_id, "issuer": ISSUER, "relying_party": {"name": "Test Bank"},
            "purpose": purpose, "certificate": certificate, "hash": "SHA-256",
            "to_be_signed": base64.urlsafe_b64encode(tbs).decode().rstrip("="),
            "expires_at": (datetime.now(UTC) + timedelta(minutes=5)).isoformat()}


@contextmanager
def serving(request: dict[str, Any]) -> Iterator[CardRequestServer]:
    state = CardRequestServer(request)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._reply(200, state.request)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self._reply(*state.answer(body))

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/card-requests/abc"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
