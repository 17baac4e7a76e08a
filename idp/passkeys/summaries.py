"""What the service answers: frozen views of stored passkeys, never the ORM rows themselves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from idp.assurance.evidence import Method
from idp.passkeys.models import Passkey
from idp.passkeys.values import Anchor, DeviceType


@dataclass(frozen=True)
class Started:
    """A ceremony begun: the options for the browser, and the handle to finish it with.

    The caller keeps ``handle`` in its interaction record (never in the page), so that only the
    browser session that began a ceremony can finish it.
    """

    options_json: str
    handle: str


@dataclass(frozen=True)
class PasskeySummary:
    """A passkey as the person's page and the login flow see it."""

    id: str
    name: str
    device_type: DeviceType
    backup_eligible: bool
    backup_state: bool
    aaguid: str
    transports: tuple[str, ...]
    enrolled_anchor: Anchor
    created_at: datetime
    last_used_at: datetime | None

    @property
    def synced(self) -> bool:
        """Multi-device (backup eligible): the key may be copied to the provider's other devices."""
        return self.device_type is DeviceType.MULTI_DEVICE


@dataclass(frozen=True)
class PasskeyLogin:
    """A verified passkey sign-in. The login flow compares ``passkey.enrolled_anchor`` with the
    private ID's current anchor and derives the assurance level from ``passkey.device_type``."""

    private_id: str
    passkey: PasskeySummary
    user_verified: bool

    @property
    def method(self) -> Method:
        """Device-bound (BE=0: the key cannot leave the hardware) or synced (BE=1)."""
        if self.passkey.device_type is DeviceType.SINGLE_DEVICE:
            return Method.PASSKEY_DEVICE_BOUND
        return Method.PASSKEY_SYNCED


def summarise(passkey: Passkey | Any) -> PasskeySummary:
    """A stored passkey as the service answers it: from its ORM row, or a row of its columns
    by name (the sign-in's prepared read)."""
    return PasskeySummary(
        id=passkey.id, name=passkey.name, device_type=DeviceType(passkey.device_type),
        backup_eligible=passkey.backup_eligible, backup_state=passkey.backup_state,
        aaguid=passkey.aaguid, transports=tuple(passkey.transports),
        enrolled_anchor=Anchor(issuer=passkey.anchor_issuer, serial=passkey.anchor_serial),
        created_at=_aware(passkey.created_at),
        last_used_at=_aware(passkey.last_used_at) if passkey.last_used_at else None,
    )


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every moment stored here is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
