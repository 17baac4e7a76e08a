"""Immutable values of the passkey component: what a ceremony hands out and what it proves."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Anchor:
    """The JPKI signing certificate (署名用電子証明書) a private ID rests on: its trust anchor.

    ``issuer`` is the issuing CA's name (RFC 4514 string), ``serial`` the serial number in hex.
    A passkey remembers the anchor it was enrolled under, so that when the anchor is revoked or
    superseded (a 4-info change) the login flow can tell the passkey predates the current one.
    """

    issuer: str
    serial: str


class DeviceType(enum.StrEnum):
    """Where the passkey's private key can live (WebAuthn L3 §6.1.3, the BE flag)."""

    SINGLE_DEVICE = "single_device"  # BE=0: device-bound, the key never leaves the authenticator
    MULTI_DEVICE = "multi_device"  # BE=1: may be synced (backed up) to other devices


class Ceremony(enum.StrEnum):
    REGISTRATION = "registration"
    AUTHENTICATION = "authentication"


@dataclass(frozen=True)
class PendingChallenge:
    """A challenge handed to the browser, kept server-side until answered once or expired.

    For a registration it also carries whose passkey is being made and under which anchor, so
    the answer cannot be attached to another private ID; for an authentication ``private_id`` is
    set only when the flow expects a particular person (re-authentication, step-up).
    """

    ceremony: Ceremony
    challenge: bytes
    expires_at: datetime
    private_id: str | None = None
    anchor: Anchor | None = None


@dataclass(frozen=True)
class ExistingCredential:
    """A passkey already registered, listed in excludeCredentials so it is not made twice."""

    credential_id: bytes
    transports: tuple[str, ...] = ()


@dataclass(frozen=True)
class VerifiedPasskey:
    """What a verified registration proves about the new credential."""

    credential_id: bytes
    public_key: bytes  # COSE_Key, as the authenticator produced it
    sign_count: int
    aaguid: str  # authenticator model, e.g. "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"
    backup_eligible: bool
    backup_state: bool
    user_verified: bool
    transports: tuple[str, ...]

    @property
    def device_type(self) -> DeviceType:
        return DeviceType.MULTI_DEVICE if self.backup_eligible else DeviceType.SINGLE_DEVICE


@dataclass(frozen=True)
class StoredKey:
    """The parts of a stored passkey an assertion is checked against."""

    credential_id: bytes
    public_key: bytes
    sign_count: int
    backup_eligible: bool
    user_handle: bytes


@dataclass(frozen=True)
class VerifiedAssertion:
    """What a verified authentication proves; ``backup_state`` may change between uses."""

    credential_id: bytes
    sign_count: int
    backup_state: bool
    user_verified: bool
