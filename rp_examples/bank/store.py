"""The bank's own records, in one small SQLite file under its data directory: customers (the
identity verification record of each account opening, 本人確認記録), transfers (with the card
signature that approved a large one) and the change events received from the IdP.

SQLite from the standard library, one connection per operation: the bank is a sample, and a
file that ``sqlite3`` opens is what an operator wants to look into.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rp_examples.bank.events import ReceivedEvent
from rp_examples.bank.opening import Opening
from rp_examples.bank.signature import VerifiedSignature

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    sub TEXT PRIMARY KEY, account_number TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
    birthdate TEXT NOT NULL, address TEXT NOT NULL, verified_at TEXT NOT NULL,
    evidence_issuer TEXT NOT NULL, evidence_serial TEXT NOT NULL, acr TEXT NOT NULL,
    opened_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS transfers (
    id TEXT PRIMARY KEY, sub TEXT NOT NULL, amount INTEGER NOT NULL, payee TEXT NOT NULL,
    text TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL,
    signature TEXT, executed_at TEXT);
CREATE TABLE IF NOT EXISTS events (
    jti TEXT PRIMARY KEY, event_type TEXT NOT NULL, subject TEXT, iat INTEGER NOT NULL,
    txn TEXT, body TEXT NOT NULL, received_at TEXT NOT NULL);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Customer:
    sub: str
    account_number: str
    name: str
    birthdate: str
    address: str
    verified_at: str
    evidence_issuer: str
    evidence_serial: str
    acr: str
    opened_at: str


@dataclass(frozen=True)
class Transfer:
    id: str
    sub: str
    amount: int
    payee: str
    text: str
    status: str  # pending, executed, refused
    created_at: str
    signature: Mapping[str, Any] | None
    executed_at: str | None


@dataclass(frozen=True)
class StoredEvent:
    event: ReceivedEvent
    received_at: str


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = sqlite3.connect(self.path)
            db.row_factory = sqlite3.Row
            try:
                with db:
                    yield db
            finally:
                db.close()

    # -- customers ----------------------------------------------------------------------
    def open_account(self, sub: str, opening: Opening) -> Customer:
        """Record the opening (or, for a customer who already has an account, the new
        verification: the account number stays)."""
        existing = self.customer(sub)
        customer = Customer(
            sub, existing.account_number if existing else f"{secrets.randbelow(10**7):07d}",
            opening.name, opening.birthdate, opening.address, opening.verified_at,
            opening.evidence_issuer, opening.evidence_serial, opening.acr,
            existing.opened_at if existing else _now())
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO customers VALUES (?,?,?,?,?,?,?,?,?,?)",
                       astuple(customer))
        return customer

    def customer(self, sub: str) -> Customer | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM customers WHERE sub = ?", (sub,)).fetchone()
        return Customer(**dict(row)) if row else None

    # -- transfers ----------------------------------------------------------------------
    def add_transfer(self, transfer: Transfer) -> None:
        with self._db() as db:
            db.execute("INSERT INTO transfers VALUES (?,?,?,?,?,?,?,?,?)",
                       (transfer.id, transfer.sub, transfer.amount, transfer.payee,
                        transfer.text, transfer.status, transfer.created_at, None, None))

    def transfer(self, transfer_id: str) -> Transfer | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM transfers WHERE id = ?", (transfer_id,)).fetchone()
        if row is None:
            return None
        values = dict(row)
        values["signature"] = json.loads(values["signature"]) if values["signature"] else None
        return Transfer(**values)

    def attach_signature(self, transfer_id: str, verified: VerifiedSignature) -> None:
        signature = {"signer_name": verified.signer_name,
                     "signer_address": verified.signer_address,
                     "certificate_serial": verified.certificate_serial,
                     "certificate_issuer": verified.certificate_issuer,
                     "request_id": verified.request_id, "signed_at": verified.signed_at,
                     "status": verified.status}
        with self._db() as db:
            db.execute("UPDATE transfers SET signature = ? WHERE id = ? AND status = 'pending'",
                       (json.dumps(signature, ensure_ascii=False), transfer_id))

    def finish_transfer(self, transfer_id: str, status: str) -> bool:
        """Mark a pending transfer executed or refused; False when it was not pending (a
        transfer is executed once)."""
        with self._db() as db:
            changed = db.execute(
                "UPDATE transfers SET status = ?, executed_at = ? WHERE id = ? AND "
                "status = 'pending'", (status, _now(), transfer_id)).rowcount
        return changed == 1

    def transfers(self, sub: str, limit: int = 20) -> list[Transfer]:
        with self._db() as db:
            ids = [row["id"] for row in db.execute(
                "SELECT id FROM transfers WHERE sub = ? ORDER BY created_at DESC LIMIT ?",
                (sub, limit))]
        return [t for t in (self.transfer(i) for i in ids) if t is not None]

    # -- events -------------------------------------------------------------------------
    def add_event(self, event: ReceivedEvent) -> bool:
        """Keep a received event; False when its ``jti`` was already processed (delivery is
        at least once: the same SET may come twice)."""
        with self._db() as db:
            added = db.execute(
                "INSERT OR IGNORE INTO events VALUES (?,?,?,?,?,?,?)",
                (event.jti, event.event_type, event.subject, event.iat, event.txn,
                 json.dumps(dict(event.body), ensure_ascii=False), _now())).rowcount
        return added == 1

    def events(self, limit: int = 200) -> list[StoredEvent]:
        with self._db() as db:
            rows = db.execute("SELECT * FROM events ORDER BY received_at DESC, iat DESC "
                              "LIMIT ?", (limit,)).fetchall()
        return [StoredEvent(ReceivedEvent(row["jti"], row["event_type"], json.loads(row["body"]),
                                          row["subject"], row["iat"], row["txn"]),
                            row["received_at"]) for row in rows]
