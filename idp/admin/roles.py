"""Roles as a table of permissions, and the one check every admin action goes through.

``admin`` may do everything, ``auditor`` read everything and change nothing, ``support`` find
accounts, see them, lock and unlock them with a reason, and see their 4 info only after giving
a reason. A permission marked high-risk also needs a fresh passkey confirmation from a browser
session (``idp.admin.identity``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from idp.admin.errors import NotPermittedError


class Role(enum.StrEnum):
    ADMIN = "admin"
    AUDITOR = "auditor"
    SUPPORT = "support"


class Permission(enum.StrEnum):
    READ_HEALTH = "read_health"
    READ_CLIENTS = "read_clients"
    CHANGE_CLIENTS = "change_clients"
    DISABLE_CLIENTS = "disable_clients"  # high-risk
    ROTATE_SECRETS = "rotate_secrets"  # high-risk
    FIND_ACCOUNTS = "find_accounts"
    FIND_BY_NAME = "find_by_name"  # with a reason
    REVEAL_4INFO = "reveal_4info"  # with a reason; high-risk
    LOCK_ACCOUNTS = "lock_accounts"  # with a reason
    READ_ADMINS = "read_admins"
    CHANGE_ADMINS = "change_admins"
    READ_TRUST = "read_trust"
    CHANGE_TRUST = "change_trust"  # high-risk
    READ_AUDIT = "read_audit"  # the audit log
    READ_METERING = "read_metering"  # the validity checks per relying party, priced


HIGH_RISK = frozenset({Permission.DISABLE_CLIENTS, Permission.ROTATE_SECRETS,
                       Permission.REVEAL_4INFO, Permission.CHANGE_TRUST})
READS = frozenset({Permission.READ_HEALTH, Permission.READ_CLIENTS, Permission.FIND_ACCOUNTS,
                   Permission.READ_ADMINS, Permission.READ_TRUST, Permission.READ_AUDIT,
                   Permission.READ_METERING})

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    # Reads everything, the 4 info included (with a reason, as anyone), and changes nothing.
    Role.AUDITOR: READS | {Permission.FIND_BY_NAME, Permission.REVEAL_4INFO},
    Role.SUPPORT: frozenset({Permission.READ_HEALTH, Permission.FIND_ACCOUNTS,
                             Permission.FIND_BY_NAME, Permission.REVEAL_4INFO,
                             Permission.LOCK_ACCOUNTS}),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: an administrator, by a browser session or an API token."""

    admin_id: str
    name: str
    role: Role
    via: str  # "session" | "token" | "cli"
    confirmed_at: int | None = None  # the session's last passkey confirmation (epoch seconds)


def allowed(role: Role, permission: Permission) -> bool:
    return permission in PERMISSIONS[role]


def require(actor: Actor, permission: Permission) -> None:
    """Refuse (403) unless ``actor``'s role has ``permission``."""
    if not allowed(actor.role, permission):
        # Its catalogue text, in the administrator's language, naming the role and the need.
        raise NotPermittedError(role=actor.role.value, permission=permission.value)
