"""Recording what a batch re-check decided: the changed anchors, a chunk per transaction.

Each chunk's transaction starts with its writes (under SQLite's WAL a transaction that reads
first and writes later fails at once when another connection committed in between;
``idp.oidc.token_sql``): one ``UPDATE ... RETURNING`` per distinct (state before, decision) —
a handful, not one statement per anchor — conditioned on the state the batch read, so an anchor
a login re-checked meanwhile is left to that login (which told the sink itself). Then the
private IDs' states, and the :class:`~idp.accounts.changes.Change` of each anchor, handed to the
sink in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from idp import db as dbm
from idp.accounts import changes
from idp.accounts.anchor_policy import Decision
from idp.accounts.changes import ChangeSink
from idp.accounts.jpki_models import JpkiAnchor
from idp.accounts.models import PrivateId
from idp.db import Base

CHUNK = 5000  # changed anchors per transaction: others' writes wait for one chunk only
_PERSON = {"suspended": "suspended", "closed": "closed"}
ANCHORS, PEOPLE = (Base.metadata.tables[model.__tablename__] for model in (JpkiAnchor, PrivateId))


@dataclass(frozen=True)
class Changed:
    anchor_id: int
    state: str  # before
    reason: str | None  # before
    decision: Decision


def record(sessions: sessionmaker[Session], sink: ChangeSink | None, found: Sequence[Changed],
           at: datetime) -> list[dict[str, str]]:
    """Record ``found``; the anchors whose state changed, as ``idp recheck --json`` lists
    them."""
    listed: list[dict[str, str]] = []
    for start in range(0, len(found), CHUNK):
        with dbm.transaction(sessions) as db:
            made = _chunk(db.connection(), found[start:start + CHUNK], at, listed)
            if made and sink is not None:
                sink.record(db, made)
    return listed


def _chunk(connection: Connection, chunk: Sequence[Changed], at: datetime,
           listed: list[dict[str, str]]) -> list[changes.Change]:
    groups: dict[tuple[str, Decision], list[Changed]] = defaultdict(list)
    for item in chunk:
        groups[(item.state, item.decision)].append(item)
    updated: list[tuple[Changed, str, str, str]] = []  # with private ID, issuer, serial
    for (before, decision), items in groups.items():
        by_id = {item.anchor_id: item for item in items}
        rows = connection.execute(update(ANCHORS).where(
            ANCHORS.c.id.in_(by_id), ANCHORS.c.state == before).values(
            state=decision.state.value, last_result=decision.reason[:128],
            last_checked_at=at).returning(ANCHORS.c.id, ANCHORS.c.private_id,
                                          ANCHORS.c.issuer_dn, ANCHORS.c.serial_hex)).all()
        updated.extend((by_id[row[0]], row[1], row[2], row[3]) for row in rows)
    people = _people(connection, updated)
    made = []
    for item, private_id, issuer_dn, serial_hex in updated:
        before, after = item.state, item.decision.state.value
        person = people.get(private_id, ("active", "active"))
        if after != before:  # not only its reason
            listed.append({"private_id": private_id, "from": before, "to": after,
                           "reason": item.decision.reason})
        change = changes.checked(
            private_id, anchor=changes.Credential(issuer_dn, serial_hex), before=before,
            before_reason=item.reason, decision=item.decision, person=person,
            at=int(at.timestamp()))
        if change is not None:
            made.append(change)
    return made


def _people(connection: Connection,
            updated: Sequence[tuple[Changed, str, str, str]]) -> dict[str, tuple[str, str]]:
    """Move each private ID to the state its anchor's decision means (closed stays closed);
    (before, after) of each."""
    targets = {private_id: _PERSON.get(item.decision.state.value, "active")
               for item, private_id, _, _ in updated}
    if not targets:
        return {}
    found = dict(connection.execute(select(PEOPLE.c.id, PEOPLE.c.state).where(
        PEOPLE.c.id.in_(targets))).all())
    moving: dict[str, list[str]] = defaultdict(list)
    for private_id, target in targets.items():
        if found.get(private_id, target) not in (target, "closed"):
            moving[target].append(private_id)
    for target, private_ids in moving.items():
        connection.execute(update(PEOPLE).where(PEOPLE.c.id.in_(private_ids),
                                                PEOPLE.c.state != "closed").values(state=target))
    return {private_id: (found[private_id], target if found[private_id] != "closed"
                         else "closed") for private_id, target in targets.items()
            if private_id in found}


def stamp(connection: Connection, at: datetime, due: Sequence[ColumnElement[bool]]) -> None:
    """last_checked_at of the anchors a ``--due`` run checked (``due``: the run's condition;
    a full run is recorded once instead)."""
    connection.execute(update(ANCHORS).where(*due).values(last_checked_at=at))
