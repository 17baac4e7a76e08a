"""Read-only views of a private ID's anchor and 4-info history, for passkeys and the person's page.

The card side owns the ``anchors`` and ``basic4_history`` tables; this module reads them by
name (SQLAlchemy Core), so the login flow depends on their columns, not on their code. Before an
instance has the tables (an older database) it answers "nothing known" instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, column, desc, inspect, select, table
from sqlalchemy.orm import Session

from idp.passkeys.values import Anchor

_WHEN = DateTime(timezone=True)
_anchors = table("anchors", column("id"), column("private_id"), column("issuer_dn"),
                 column("serial_hex"), column("state"), column("last_checked_at", _WHEN),
                 column("last_result"), column("superseded_by"), column("created_at", _WHEN))
_basic4 = table("basic4_history", column("id"), column("private_id"), column("basic4", JSON),
                column("source"), column("anchor_serial"), column("recorded_at", _WHEN),
                column("current", Boolean))

# When a private ID has no recorded anchor yet: the passkey still remembers that fact.
NO_ANCHOR = Anchor(issuer="", serial="")


@dataclass(frozen=True)
class AnchorView:
    issuer: str
    serial: str
    state: str
    last_checked_at: datetime | None
    last_result: str | None


def _has(session: Session, name: str) -> bool:
    return inspect(session.connection()).has_table(name)


def anchors(session: Session, private_id: str) -> list[AnchorView]:
    """The private ID's anchors, newest first (the first is the live one)."""
    if not _has(session, "anchors"):
        return []
    rows = session.execute(select(_anchors).where(_anchors.c.private_id == private_id)
                           .order_by(desc(_anchors.c.created_at), desc(_anchors.c.id)))
    return [AnchorView(r.issuer_dn, r.serial_hex, r.state, r.last_checked_at, r.last_result)
            for r in rows]


def current_anchor(session: Session, private_id: str) -> Anchor:
    """The anchor a passkey enrolled now is bound to (NO_ANCHOR when none is recorded)."""
    found = anchors(session, private_id)
    return Anchor(found[0].issuer, found[0].serial) if found else NO_ANCHOR


def basic4_history(session: Session, private_id: str) -> list[dict[str, Any]]:
    """The 4 info as recorded over time, newest first; ``current`` marks the live record."""
    if not _has(session, "basic4_history"):
        return []
    rows = session.execute(select(_basic4).where(_basic4.c.private_id == private_id)
                           .order_by(desc(_basic4.c.recorded_at), desc(_basic4.c.id)))
    return [{"basic4": r.basic4, "source": r.source, "anchor_serial": r.anchor_serial,
             "recorded_at": _iso(r.recorded_at), "current": bool(r.current)} for r in rows]


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if isinstance(moment, datetime) else moment
