"""What the audit tests share: a log on the parametrised database, keys, and a tamperer."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from idp.audit import entries
from idp.audit.log import AuditLog
from idp.oidc.keys import KeyStore

ORIGIN = "https://idp.example.jp/audit"


def keys(directory: Path) -> KeyStore:
    store = KeyStore(directory, retention_seconds=600)
    store.ensure()
    return store


def filled(sessions: sessionmaker[Session], count: int) -> AuditLog:
    log = AuditLog(sessions, origin=ORIGIN)
    for number in range(count):
        log.record("login.passkey", actor=entries.person(f"pid-{number}"), target="client-1",
                   details={"method": "passkey", "level": 2})
    return log


def tamper(sessions: sessionmaker[Session], *statements: str) -> None:
    """Runs ``statements`` as someone who owns the database: the append-only triggers dropped
    first (what an attacker with those rights does)."""
    with sessions() as db, db.begin():
        if db.get_bind().dialect.name == "sqlite":
            for verb in ("update", "delete"):
                db.execute(text(f"DROP TRIGGER IF EXISTS audit_log_no_{verb}"))
        else:
            db.execute(text("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log"))
        for statement in statements:
            db.connection().exec_driver_sql(statement)
