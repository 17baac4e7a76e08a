"""What the passkey component needs to know about a private ID: may its passkeys be used?

``idp.accounts`` owns private IDs and their states; the two packages are independent layers, so
the question goes through this Protocol. The default reads the ``state`` column of
``private_ids`` by name and allows only ``active``: a suspended anchor (card lost, both JPKI
certificates revoked) or a closed private ID (death) stops its passkeys (fail closed for any
state this component does not know). The login flow may pass a richer directory.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import column, select, table
from sqlalchemy.orm import Session

ACTIVE_STATES = frozenset({"active"})

_private_ids = table("private_ids", column("id"), column("state"))


class AccountDirectory(Protocol):
    def passkeys_allowed(self, session: Session, private_id: str) -> bool:
        """Whether the private ID exists and its passkeys may register and sign in."""
        ...

    def state(self, session: Session, private_id: str) -> str | None:
        """The private ID's state (``active``, ``suspended``, ``closed``); None if unknown."""
        ...


class SqlAccountDirectory:
    """Reads ``private_ids.state``; only :data:`ACTIVE_STATES` allow passkeys."""

    def passkeys_allowed(self, session: Session, private_id: str) -> bool:
        return self.state(session, private_id) in ACTIVE_STATES

    def state(self, session: Session, private_id: str) -> str | None:
        state: str | None = session.execute(
            select(_private_ids.c.state).where(_private_ids.c.id == private_id)
        ).scalar_one_or_none()
        return state
