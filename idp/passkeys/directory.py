"""What the passkey component needs to know about a private ID: may its passkeys be used?

``idp.accounts`` owns private IDs and their states; the two packages are independent layers, so
this module reads the ``state`` column of ``private_ids`` by name and allows only ``active``: a
suspended anchor (card lost, both JPKI certificates revoked) or a closed private ID (death) stops
its passkeys (fail closed for any state this component does not know).
"""

from __future__ import annotations

from sqlalchemy import column, select, table
from sqlalchemy.orm import Session

ACTIVE_STATES = frozenset({"active"})

PRIVATE_IDS = table("private_ids", column("id"), column("state"))


def state(session: Session, private_id: str) -> str | None:
    """The private ID's state (``active``, ``suspended``, ``closed``); None if unknown."""
    found: str | None = session.execute(
        select(PRIVATE_IDS.c.state).where(PRIVATE_IDS.c.id == private_id)
    ).scalar_one_or_none()
    return found


def passkeys_allowed(session: Session, private_id: str) -> bool:
    """Whether the private ID exists and its passkeys may register and sign in."""
    return state(session, private_id) in ACTIVE_STATES
