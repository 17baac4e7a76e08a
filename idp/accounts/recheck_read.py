"""What ``idp recheck`` reads: single statements over the covering index ``ix_anchors_recheck``.

The anchors' rows hold their certificates, so a million of them are gigabytes: every read here
is answered from the index (or, for a few rows, by primary or unique key). Rows come back as
the driver's plain tuples: the columns are integers and strings, and building SQLAlchemy Row
objects for a million rows costs more than reading them (measured: 2.1 s against 0.6 s).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Executable, and_, not_, or_, select
from sqlalchemy.engine import Connection

from idp.accounts.anchor_policy import Decision
from idp.accounts.jpki_models import AuthLink, JpkiAnchor, RecheckRun
from idp.accounts.models import PrivateId

# A live anchor to decide on alone: id, serial hex, CA key id hex, notAfter (epoch), state,
# last reason
Live = tuple[int, str, str | None, int | None, str, str | None]
IN_CHUNK = 500  # values per IN list


def plain(connection: Connection, statement: Executable) -> list[Any]:
    """The rows of ``statement`` as the driver's tuples."""
    result = connection.execute(statement)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def live(cutoff: datetime | None) -> list[ColumnElement[bool]]:
    """Live anchors (``cutoff``: last checked before it, or never)."""
    found: list[ColumnElement[bool]] = [JpkiAnchor.superseded_by.is_(None)]
    if cutoff is not None:
        found.append(or_(JpkiAnchor.last_checked_at.is_(None),
                         JpkiAnchor.last_checked_at < cutoff))
    return found


def last_full_run(connection: Connection) -> datetime | None:
    """When the newest completed ``idp recheck --all`` started (timezone-aware)."""
    found = connection.execute(select(RecheckRun.started_at).order_by(
        RecheckRun.started_at.desc()).limit(1)).scalar()
    return None if found is None else aware(found)


def last_checked(own: datetime | None, created: datetime,
                 full_run: datetime | None) -> datetime | None:
    """When a live anchor was last checked: by itself (a login, a ``--due`` run) or by the
    newest full run, if it existed then."""
    found = [aware(moment) for moment in (own,) if moment is not None]
    if full_run is not None and aware(created) <= full_run:
        found.append(full_run)
    return max(found, default=None)


def aware(moment: datetime) -> datetime:
    """SQLite gives timezone-aware columns back naive; they hold UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def ca_key_ids(connection: Connection, cutoff: datetime | None) -> list[str | None]:
    return [row[0] for row in plain(connection, select(JpkiAnchor.issuer_key_id).where(
        *live(cutoff)).distinct())]


def serials(connection: Connection, key_id: str | None, cutoff: datetime | None) -> set[str]:
    """The serials (hex) of the CA's live anchors: the bulk of the read, one column."""
    return {row[0] for row in plain(connection, select(JpkiAnchor.serial_hex).where(
        *live(cutoff), _of(key_id)))}


def closed(connection: Connection, cutoff: datetime | None) -> dict[int, str | None]:
    """The live (and due) anchors of closed private IDs, with their CA's key id: closed is
    final, the batch leaves them alone. Two statements, the closed private IDs (few) first:
    joined in one, SQLite walks the million anchors and reads each row to find its person."""
    people = [row[0] for row in plain(connection, select(PrivateId.id).where(
        PrivateId.state == "closed"))]
    found: dict[int, str | None] = {}
    for start in range(0, len(people), IN_CHUNK):
        found.update((row[0], row[1]) for row in plain(connection, select(
            JpkiAnchor.id, JpkiAnchor.issuer_key_id).where(
            JpkiAnchor.private_id.in_(people[start:start + IN_CHUNK]), *live(cutoff))))
    return found


def individual(connection: Connection, key_id: str | None, *, usual: Decision | None,
               now: int, cutoff: datetime | None, listed: Sequence[str]) -> list[Live]:
    """The CA's live anchors that the usual decision does not settle: recorded otherwise
    (drifted), expired, without notAfter, or on the CRL (``listed``: serials ``serials``
    returned)."""
    columns = (JpkiAnchor.id, JpkiAnchor.serial_hex, JpkiAnchor.issuer_key_id,
               JpkiAnchor.not_after, JpkiAnchor.state, JpkiAnchor.last_result)
    unsettled = [JpkiAnchor.not_after.is_(None), JpkiAnchor.not_after <= now]
    if usual is None:
        unsettled.append(JpkiAnchor.id.is_not(None))
    else:
        unsettled.append(or_(not_(and_(JpkiAnchor.state == usual.state.value,
                                       JpkiAnchor.last_result == usual.reason)),
                             JpkiAnchor.last_result.is_(None)))
    found = {row[0]: row for row in plain(connection, select(*columns).where(
        *live(cutoff), _of(key_id), or_(*unsettled)))}
    for start in range(0, len(listed), IN_CHUNK):  # by the unique serial: live (and due)
        # already, as ``serials`` found them; a live condition here makes SQLite scan the
        # covering index instead of looking the serials up
        found.update((row[0], row) for row in plain(connection, select(*columns).where(
            JpkiAnchor.serial_hex.in_(listed[start:start + IN_CHUNK]))))
    return list(found.values())


def newest_links(connection: Connection,
                 anchor_ids: Sequence[int]) -> dict[int, tuple[int, str, str | None, int | None]]:
    """Each anchor's person's newest auth link with its certificate, as (anchor id, serial
    hex, CA key id hex, notAfter); anchors whose newest link has no certificate (or none at
    all) are left out: their auth status is not checked, as at a login."""
    found: dict[int, tuple[int, str, str | None, int | None]] = {}
    for start in range(0, len(anchor_ids), IN_CHUNK):
        rows = plain(connection, select(
            JpkiAnchor.id, AuthLink.serial_hex, AuthLink.issuer_key_id, AuthLink.not_after,
            AuthLink.certificate.is_not(None), AuthLink.linked_at)
            .join(AuthLink, AuthLink.private_id == JpkiAnchor.private_id)
            .where(JpkiAnchor.id.in_(anchor_ids[start:start + IN_CHUNK]))
            .order_by(AuthLink.linked_at))
        newest = {row[0]: row for row in rows}  # ordered by linked_at: the last one wins
        for anchor_id, serial, key_id, not_after, has_certificate, _ in newest.values():
            if has_certificate:
                found[anchor_id] = (anchor_id, serial, key_id if not_after else None, not_after)
    return found


def _of(key_id: str | None) -> ColumnElement[bool]:
    return JpkiAnchor.issuer_key_id.is_(None) if key_id is None else \
        JpkiAnchor.issuer_key_id == key_id
