"""Login sessions: a database record referenced by a signed cookie.

The cookie holds only the session id, signed with the instance secret (itsdangerous), so a
stolen database row is useless without the cookie and a forged cookie fails the signature.
Sessions are created by the login methods (card, passkeys) and, in tests, by
``tests/support/login.py`` — never by a route that could ship.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from idp.accounts.models import LoginSession
from idp.db import Base
from idp.prepared import Prepared, defer_on

COOKIE_NAME = "idp_session"
SESSIONS = Base.metadata.tables[LoginSession.__tablename__]
_START = Prepared(insert(SESSIONS))  # every login starts a session


@dataclass(frozen=True)
class ActiveSession:
    id: str
    private_id: str
    auth_time: int
    acr: str
    amr: tuple[str, ...]


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="idp.login-session")


def cookie_value(secret: str, session_id: str) -> str:
    return _serializer(secret).dumps(session_id)


def session_id_from_cookie(secret: str, value: str | None) -> str | None:
    if not value:
        return None
    try:
        loaded = _serializer(secret).loads(value)
    except BadSignature:
        return None
    return loaded if isinstance(loaded, str) else None


def start(db: Session, *, private_id: str, acr: str, amr: list[str], lifetime: int,
          now: int | None = None) -> ActiveSession:
    now = int(time.time()) if now is None else now
    started = ActiveSession(secrets.token_urlsafe(24), private_id, now, acr, tuple(amr))
    defer_on(db.connection(), _START, {  # with the transaction's next statement
        "id": started.id, "private_id": private_id, "auth_time": now, "acr": acr,
        "amr": list(amr), "expires_at": now + lifetime, "ended_at": None})
    return started


def load(db: Session, session_id: str | None, now: int | None = None) -> ActiveSession | None:
    """The live session ``session_id``, or None when unknown, ended or expired."""
    if session_id is None:
        return None
    row = db.get(LoginSession, session_id)
    now = int(time.time()) if now is None else now
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    return _active(row)


def reauthenticate(db: Session, session_id: str, *, private_id: str, acr: str, amr: list[str],
                   lifetime: int, now: int | None = None) -> None:
    """The live session ``session_id`` of ``private_id`` authenticated again now, by ``amr`` at
    ``acr`` (a card signature asked from it); an ended or expired session stays as it is."""
    now = int(time.time()) if now is None else now
    db.execute(update(LoginSession).where(
        LoginSession.id == session_id, LoginSession.private_id == private_id,
        LoginSession.ended_at.is_(None), LoginSession.expires_at > now)
        .values(auth_time=now, acr=acr, amr=amr, expires_at=now + lifetime))


def end(db: Session, session_id: str) -> None:
    db.execute(update(LoginSession).where(LoginSession.id == session_id)
               .values(ended_at=int(time.time())))


def _active(row: LoginSession) -> ActiveSession:
    return ActiveSession(row.id, row.private_id, row.auth_time, row.acr, tuple(row.amr))
