"""Every route of the bank answers odd input with a clear 4xx (or its page; 502/503 when the
IdP cannot be reached), never a 500 — also while its IdP is down."""

from __future__ import annotations

from pathlib import Path

from rp_examples.bank import create_app
from rp_examples.bank.settings import BankSettings
from rp_examples.common import RpConfig
from tests.support.sim import free_port
from tests.unit.rp_examples.test_hostile_input import REQUESTS

BANK = [
    ("GET", "/open-account", None), ("GET", "/open-account?lang=en", None),
    ("GET", "/transfer?amount=%00", None), ("POST", "/transfer", {"amount": "x"}),
    ("GET", "/transfer/TX-%00", None), ("POST", "/transfer/TX-1/approve", {}),
    ("GET", "/login?action=open_account", None), ("GET", "/login?action=%00", None),
    ("POST", "/api/transfers", None), ("POST", "/api/transfers", {"transfer_id": "x"}),
    ("GET", "/back-office", None), ("GET", "/back-office?lang=en", None),
    ("GET", "/bank.css", None),
    ("POST", "/ssf/events", {"x": "y"}), ("GET", "/ssf/events", None),
]


def test_no_request_makes_a_500(tmp_path: Path) -> None:
    config = RpConfig(issuer=f"http://127.0.0.1:{free_port()}", client_id="rp_bank",
                      base_url="http://localhost:8002",
                      private_jwk={"kty": "EC", "crv": "P-256", "kid": "k",
                                   "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                                   "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
                                   "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"})
    client = create_app(config, BankSettings(data_dir=tmp_path, events=False)).test_client()
    bearer = {"Authorization": "Bearer e30.e30.c2ln"}
    for method, path, form in [*REQUESTS, *BANK]:
        for headers in ({}, bearer):
            with client.open(path, method=method, data=form, headers=headers) as answer:
                assert answer.status_code < 500 or answer.status_code in (502, 503), \
                    (method, path, headers, answer.status_code)
                assert answer.headers["X-Content-Type-Options"] == "nosniff"
    with client.open("/api/transfers", method="POST", json={"transfer_id": "x"},
                     headers=bearer) as answer:
        assert answer.status_code == 503  # the IdP's keys cannot be fetched: try later
        assert answer.json is not None
        assert answer.json["error"] == "temporarily_unavailable"
