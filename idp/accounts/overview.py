"""What the person's own page shows of their private ID, read in one short session.

The anchors (newest first: the first is the live one), the 4 info as recorded over time, and the
recent sign-ins. Used by ``/account`` (idp.web.account) and, for the live anchor, by the passkey
registration that binds a new passkey to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import zip_longest
from typing import Any

from sqlalchemy import desc, select
from sqlalchemy.orm import Session, sessionmaker

from idp.accounts import recheck_read
from idp.accounts.jpki_models import Basic4Record, JpkiAnchor
from idp.accounts.models import LoginSession, PrivateId

RECENT_SIGN_INS = 10


@dataclass(frozen=True)
class AnchorView:
    issuer: str
    serial: str
    state: str
    last_checked_at: datetime | None
    last_result: str | None
    created_at: datetime | None = None  # when the private ID was anchored to it
    not_after: int | None = None  # the certificate's notAfter (epoch seconds)
    superseded_by: str | None = None  # the serial of the certificate that replaced it


@dataclass(frozen=True)
class SignIn:
    session_id: str
    at: int
    acr: str
    amr: tuple[str, ...]


@dataclass(frozen=True)
class Overview:
    private_id: str
    state: str
    anchors: tuple[AnchorView, ...]
    basic4_history: tuple[dict[str, Any], ...]
    sign_ins: tuple[SignIn, ...]


def overview(sessions: sessionmaker[Session], private_id: str) -> Overview:
    with sessions() as db:
        person = db.get(PrivateId, private_id)
        rows = db.scalars(select(LoginSession).where(LoginSession.private_id == private_id)
                          .order_by(desc(LoginSession.auth_time)).limit(RECENT_SIGN_INS))
        sign_ins = tuple(SignIn(r.id, r.auth_time, r.acr, tuple(r.amr)) for r in rows)
        return Overview(private_id, person.state if person else "unknown",
                        anchors(db, private_id), basic4_history(db, private_id), sign_ins)


def anchors(db: Session, private_id: str) -> tuple[AnchorView, ...]:
    """The private ID's anchors, newest first (the first is the live one); the live one was
    last checked by itself or by the newest ``idp recheck --all``."""
    rows = db.scalars(select(JpkiAnchor).where(JpkiAnchor.private_id == private_id)
                      .order_by(desc(JpkiAnchor.created_at), desc(JpkiAnchor.id))).all()
    full_run = recheck_read.last_full_run(db.connection()) if rows else None
    return tuple(AnchorView(
        r.issuer_dn, r.serial_hex, r.state, r.last_checked_at if r.superseded_by else
        recheck_read.last_checked(r.last_checked_at, r.created_at, full_run),
        r.last_result, r.created_at, r.not_after, r.superseded_by) for r in rows)


def live_anchor_name(sessions: sessionmaker[Session], private_id: str) -> tuple[str, str]:
    """(issuer, serial) of the anchor a passkey enrolled now is bound to; ("", "") when the
    private ID has none recorded (the passkey still remembers that fact)."""
    with sessions() as db:
        found = anchors(db, private_id)
    return (found[0].issuer, found[0].serial) if found else ("", "")


BASIC4_FIELDS = ("name", "birth_date", "sex", "address")


def basic4_history(db: Session, private_id: str) -> tuple[dict[str, Any], ...]:
    """The 4 info as recorded over time, newest first; ``current`` marks the live record and
    ``changed`` names the fields that differ from the record before it (none for the first)."""
    rows = db.scalars(select(Basic4Record).where(Basic4Record.private_id == private_id)
                      .order_by(desc(Basic4Record.recorded_at), desc(Basic4Record.id))).all()
    return tuple({"basic4": r.basic4, "source": r.source, "anchor_serial": r.anchor_serial,
                  "recorded_at": r.recorded_at.isoformat(), "current": bool(r.current),
                  "changed": changed_fields(r.basic4, older.basic4 if older else None)}
                 for r, older in zip_longest(rows, rows[1:]))


def changed_fields(newer: dict[str, Any], older: dict[str, Any] | None) -> list[str]:
    """The 4-info fields that differ between two records, in the usual order."""
    if older is None:
        return []
    return [f for f in BASIC4_FIELDS if newer.get(f) != older.get(f)]
