"""The one place every administrator action is recorded, allowed or refused.

Every action of the service layer (``idp.admin``) ends here with its outcome, whether the UI,
the JSON API or the CLI asked for it. Today it writes one structured log line (logger
``idp.admin.actions``, the fields as JSON); the hash-chained audit log (``idp.audit``) takes
this over where it is wired, without any caller changing.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any, Literal

from idp.admin.errors import NotPermittedError
from idp.admin.roles import Actor, Permission, require

log = logging.getLogger("idp.admin.actions")
Outcome = Literal["done", "refused"]


def record_admin_action(actor: Actor | None, action: str, target: str | None,
                        reason: str | None, outcome: Outcome,
                        details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Record that ``actor`` (None: not authenticated) did, or was refused, ``action`` on
    ``target`` for ``reason``; answers the entry as recorded."""
    entry = {"at": int(time.time()), "actor": actor.name if actor else None,
             "actor_id": actor.admin_id if actor else None,
             "role": actor.role.value if actor else None, "via": actor.via if actor else None,
             "action": action, "target": target, "reason": reason, "outcome": outcome,
             "details": dict(details or {})}
    log.info("admin action %s", json.dumps(entry, ensure_ascii=False, sort_keys=True,
                                           default=str))
    return entry


def authorise(actor: Actor, permission: Permission, action: str, target: str | None) -> None:
    """The one check of every action: refuse (403, recorded) unless ``actor``'s role has
    ``permission``."""
    try:
        require(actor, permission)
    except NotPermittedError:
        record_admin_action(actor, action, target, None, "refused", {"why": "forbidden"})
        raise
