"""Where the provider reads interaction rows: once per web request, or from the database.

The web layer (``idp.web.binding``) passes a reader that keeps each row for one request and
binds new interactions to the browser's cookie; outside a web request (the CLI, tests) the
provider reads each time and binds to no browser. Either way a row is read by :func:`read`: one
statement compiled once, run on the session's connection (every interaction request reads it,
some twice; through the ORM's identity map it cost ~3 times as much, docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Protocol

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.orm import Session

from idp.db import Base
from idp.oidc.models import Interaction
from idp.prepared import Prepared, first_on, read_one

INTERACTIONS = Base.metadata.tables[Interaction.__tablename__]


@dataclass(frozen=True)
class InteractionRow:
    """An interaction as stored (the columns of ``oidc_interactions``); changed by statements,
    never through this value."""

    uid: str
    client_id: str
    params: dict[str, Any]
    csrf_token: str
    started_at: int
    expires_at: int
    done: bool
    browser_hash: str | None
    login_session_id: str | None


_READ = Prepared(select(*(INTERACTIONS.c[f.name] for f in fields(InteractionRow)))
                 .where(INTERACTIONS.c.uid == bindparam("uid")))


def read(db: Session, uid: str) -> InteractionRow | None:
    """Interaction ``uid`` as ``db``'s unit of work sees it, or None."""
    found = first_on(db.connection(), _READ, {"uid": uid})
    return None if found is None else InteractionRow(*found)


def read_alone(engine: Engine, uid: str) -> InteractionRow | None:
    """Interaction ``uid`` read by itself, in no unit of work (one autocommit statement on a
    pooled connection, no ORM Session: the web layer's first look at it in a request)."""
    found = read_one(engine, _READ, {"uid": uid})
    return None if found is None else InteractionRow(*found)


class InteractionRows(Protocol):
    """Where the provider reads interaction rows (idp.web.binding: once per request)."""

    def load(self, db: Session, uid: str) -> InteractionRow | None: ...

    def forget(self, uid: str) -> None: ...

    def browser_hash(self) -> str | None:
        """The browser a new interaction is bound to (None: bound to no browser, unusable)."""
        ...


class StoredInteractions:
    """Interaction rows read from the database each time, bound to no browser (outside a web
    request: the CLI, tests). The web layer passes its once-per-request reader instead."""

    def load(self, db: Session, uid: str) -> InteractionRow | None:
        return read(db, uid)

    def forget(self, uid: str) -> None:
        pass

    def browser_hash(self) -> str | None:
        return None
