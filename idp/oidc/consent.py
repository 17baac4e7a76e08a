"""Consent per relying party and per claim: remembered, and revocable by the person.

A record keeps the claims the person ``approved`` and every claim they have ``decided`` on
(approved or declined), so that a declined claim is not asked about again until the relying
party asks with prompt=consent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.orm import Session

from idp.accounts.models import PrivateId
from idp.audit import entries as audit
from idp.db import Base
from idp.oidc.context import OidcContext
from idp.oidc.models import Consent, Grant, Token
from idp.prepared import Prepared, first_on

PEOPLE, CONSENTS = (Base.metadata.tables[model.__tablename__] for model in (PrivateId, Consent))
_ACTIVE_WITH_CONSENT = Prepared(
    select(PEOPLE.c.state, CONSENTS.c.claims, CONSENTS.c.given_at)
    .select_from(PEOPLE.outerjoin(CONSENTS, and_(
        CONSENTS.c.private_id == PEOPLE.c.id, CONSENTS.c.client_id == bindparam("b_client_id"))))
    .where(PEOPLE.c.id == bindparam("b_private_id")))


@dataclass(frozen=True)
class ConsentRecord:
    approved: frozenset[str]
    decided: frozenset[str]
    given_at: int


def find(db: Session, private_id: str, client_id: str) -> ConsentRecord | None:
    row = db.scalar(select(Consent).where(Consent.private_id == private_id,
                                          Consent.client_id == client_id))
    if row is None:
        return None
    return ConsentRecord(frozenset(row.claims.get("approved", [])),
                         frozenset(row.claims.get("decided", [])), row.given_at)


def find_if_active(db: Session, private_id: str,
                   client_id: str) -> tuple[bool, ConsentRecord | None]:
    """Whether ``private_id`` is active, and its consent for ``client_id``: one statement, for
    the code a login issues (each login asks both)."""
    found = first_on(db.connection(), _ACTIVE_WITH_CONSENT, {"b_private_id": private_id,
                                                             "b_client_id": client_id})
    if found is None or found[0] != "active":
        return False, None
    _state, claims, given_at = found
    if claims is None:
        return True, None
    return True, ConsentRecord(frozenset(claims.get("approved", [])),
                               frozenset(claims.get("decided", [])), given_at)


def give(db: Session, private_id: str, client_id: str, *, asked: frozenset[str],
         approved: frozenset[str], now: int | None = None) -> ConsentRecord:
    """Record the person's answer about ``asked``; earlier answers on other claims remain."""
    now = int(time.time()) if now is None else now
    previous = find(db, private_id, client_id)
    approved_all = (previous.approved - asked if previous else frozenset()) | (approved & asked)
    decided = (previous.decided if previous else frozenset()) | asked
    value = {"approved": sorted(approved_all), "decided": sorted(decided)}
    if previous is None:
        db.add(Consent(private_id=private_id, client_id=client_id, claims=value, given_at=now))
    else:
        db.execute(update(Consent).where(Consent.private_id == private_id,
                                         Consent.client_id == client_id)
                   .values(claims=value, given_at=now))
    db.flush()
    return ConsentRecord(approved_all, decided, now)


def list_for(db: Session, private_id: str) -> list[tuple[str, ConsentRecord]]:
    rows = db.scalars(select(Consent).where(Consent.private_id == private_id)).all()
    return [(r.client_id, ConsentRecord(frozenset(r.claims.get("approved", [])),
                                        frozenset(r.claims.get("decided", [])), r.given_at))
            for r in rows]


def revoke(db: Session, private_id: str, client_id: str) -> bool:
    """Forget the consent and revoke every grant (and so every token) given to the client."""
    deleted = db.execute(delete(Consent).where(Consent.private_id == private_id,
                                               Consent.client_id == client_id)).rowcount  # type: ignore[attr-defined]
    grants = select(Grant.id).where(Grant.private_id == private_id, Grant.client_id == client_id)
    db.execute(update(Grant).where(Grant.id.in_(grants)).values(revoked=True))
    db.execute(update(Token).where(Token.grant_id.in_(grants)).values(revoked=True))
    return bool(deleted)


def listed(ctx: OidcContext, private_id: str) -> list[dict[str, Any]]:
    """The relying parties ``private_id`` consented to, and what each may receive (/account)."""
    with ctx.sessions() as db:
        return [{"client_id": client_id, "name": ctx.clients.get(db, client_id).name,
                 "approved": sorted(record.approved), "given_at": record.given_at}
                for client_id, record in list_for(db, private_id)]


def withdraw(ctx: OidcContext, private_id: str, client_id: str) -> bool:
    """The person withdraws their consent to ``client_id`` (``revoke``, in its own unit of
    work); False when there was none."""
    with ctx.sessions() as db, db.begin():
        withdrawn = revoke(db, private_id, client_id)
        if withdrawn:
            ctx.audit.record("consent.withdrawn", actor=audit.person(private_id),
                             target=audit.client(client_id), db=db)
        return withdrawn
