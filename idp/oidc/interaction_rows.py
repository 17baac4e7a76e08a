"""Where the provider reads interaction rows: once per web request, or from the database.

The web layer (``idp.web.binding``) passes a reader that keeps each row for one request and
binds new interactions to the browser's cookie; outside a web request (the CLI, tests) the
provider reads each time and binds to no browser.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from idp.oidc.models import Interaction


class InteractionRows(Protocol):
    """Where the provider reads interaction rows (idp.web.binding: once per request)."""

    def load(self, db: Session, uid: str) -> Interaction | None: ...

    def forget(self, uid: str) -> None: ...

    def browser_hash(self) -> str | None:
        """The browser a new interaction is bound to (None: bound to no browser, unusable)."""
        ...


class StoredInteractions:
    """Interaction rows read from the database each time, bound to no browser (outside a web
    request: the CLI, tests). The web layer passes its once-per-request reader instead."""

    def load(self, db: Session, uid: str) -> Interaction | None:
        return db.get(Interaction, uid)

    def forget(self, uid: str) -> None:
        pass

    def browser_hash(self) -> str | None:
        return None
