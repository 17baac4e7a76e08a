"""The one place every administrator action is recorded, allowed or refused.

Every action of the service layer (``idp.admin``) ends here with its outcome, whether the UI,
the JSON API or the CLI asked for it: one entry in the hash-chained audit log (``idp.audit``)
and one structured log line (logger ``idp.admin.actions``, the same fields as JSON).

The audit entry: action ``admin.<verb>`` (``admin.client.rotate_secret``; the administrators'
own actions keep their name, ``admin.sign_in``), actor ``admin:<name>`` (``anonymous`` before
anyone signed in), the target, outcome ``ok`` or ``refused``, and details with the reason, the
role, the way in (session, token, cli) and what the action itself adds. Never a secret (a client
secret, a token, an enrolment URL: ``idp.audit.entries`` refuses such keys) and never 4 info:
a reveal records whose 4 info was shown and why, not what it says. Where the action writes to
the database the entry is appended in the same transaction (``db=``), so the change and its
entry commit together or not at all; a refusal is appended on its own.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any, Literal

from sqlalchemy.orm import Session

from idp.admin.errors import NotPermittedError
from idp.admin.roles import Actor, Permission, require
from idp.audit import entries
from idp.audit.log import AuditLog

log = logging.getLogger("idp.admin.actions")
Outcome = Literal["done", "refused"]
_AUDIT_OUTCOME = {"done": "ok", "refused": "refused"}


def audit_action(action: str) -> str:
    """The audit log's name for admin action ``action``: ``admin.<verb>``."""
    return action if action.startswith("admin.") else f"admin.{action}"


def audit_actor(actor: Actor | None) -> str:
    return entries.admin(actor.name) if actor is not None else entries.anonymous()


class Recorder:
    """Records admin actions to ``audit`` (and the log line); every admin service holds one."""

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit

    def __call__(self, actor: Actor | None, action: str, target: str | None,
                 reason: str | None, outcome: Outcome,
                 details: Mapping[str, Any] | None = None, *,
                 db: Session | None = None) -> dict[str, Any]:
        """Record that ``actor`` (None: not authenticated) did, or was refused, ``action`` on
        ``target`` for ``reason``; with ``db``, inside the action's own transaction (as its
        last write). Answers the entry as logged."""
        entry = record_admin_action(actor, action, target, reason, outcome, details)
        audit_details: dict[str, Any] = {"reason": reason} if reason is not None else {}
        if actor is not None:
            audit_details |= {"role": actor.role.value, "via": actor.via}
        audit_details |= dict(details or {})
        self.audit.record(audit_action(action), actor=audit_actor(actor),
                          target=printable(target), outcome=_AUDIT_OUTCOME[outcome],
                          details=printable(audit_details), db=db)
        return entry

    def authorise(self, actor: Actor, permission: Permission, action: str,
                  target: str | None) -> None:
        """The one check of every action: refuse (403, recorded) unless ``actor``'s role has
        ``permission``."""
        try:
            require(actor, permission)
        except NotPermittedError:
            self(actor, action, target, None, "refused", {"why": "forbidden"})
            raise


def printable(value: Any) -> Any:
    """``value`` with NUL characters replaced (U+FFFD): what a refused request sent (a path,
    a search) is recorded as sent, but PostgreSQL text holds no NUL."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, Mapping):
        return {key: printable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [printable(item) for item in value]
    return value


def record_admin_action(actor: Actor | None, action: str, target: str | None,
                        reason: str | None, outcome: Outcome,
                        details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The structured log line of an admin action (``Recorder`` also appends the audit
    entry); answers the entry as logged."""
    entry = {"at": int(time.time()), "actor": actor.name if actor else None,
             "actor_id": actor.admin_id if actor else None,
             "role": actor.role.value if actor else None, "via": actor.via if actor else None,
             "action": action, "target": target, "reason": reason, "outcome": outcome,
             "details": dict(details or {})}
    log.info("admin action %s", json.dumps(entry, ensure_ascii=False, sort_keys=True,
                                           default=str))
    return entry
