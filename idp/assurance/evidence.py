"""Evidence → level: the one place that decides the ``acr`` and ``amr`` a login earns.

A login produces evidence of two kinds (seed 004, point 4; docs/assurance.md):

- **identity proofing** — whether the private ID's anchor (the JPKI signing certificate) was
  found valid and not revoked when it was re-checked for this login (``Proofing``);
- **the authenticator** — the My Number Card with its PIN, or a passkey with user verification,
  device-bound (BE=0) or synced (BE=1) (``Method``).

``level_for`` maps the two to what the session asserts. Routes and the protocol never name a
level themselves: they collect the evidence and ask here.

============================  ==========================  =================================
proofing                      method                      acr / amr
============================  ==========================  =================================
current                       card + PIN                  ial2-aal2 / hwk pin mfa
current                       passkey (device-bound)      ial2-aal2 / hwk user mfa
current                       passkey (synced)            ial2-aal2 / swk user mfa
not current                   any                         ial1-aal2 / (as above)
============================  ==========================  =================================
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from idp.assurance.levels import IAL1_AAL2, IAL2_AAL2, AcrLevel


class Proofing(Enum):
    """What the anchor re-check of this login found."""

    CURRENT = "current"  # valid, not revoked: the 4 info are state-certified now
    NOT_CURRENT = "not_current"  # revoked, expired, unknown, or no anchor at all


class Method(Enum):
    """How the person authenticated (RFC 8176 methods in ``AMR``)."""

    CARD = "card"  # the JPKI auth certificate's key on the card, unlocked by its PIN
    PASSKEY_DEVICE_BOUND = "passkey_device_bound"  # BE=0: the key cannot leave the hardware
    PASSKEY_SYNCED = "passkey_synced"  # BE=1: the key may be copied to the person's devices


# RFC 8176: "hwk" proof of a hardware-held key, "swk" of a key that may leave the hardware,
# "pin" a PIN, "user" user presence and verification, "mfa" more than one factor (the PIN or
# the UV gesture is the second factor to the key held).
AMR: dict[Method, tuple[str, ...]] = {
    Method.CARD: ("hwk", "pin", "mfa"),
    Method.PASSKEY_DEVICE_BOUND: ("hwk", "user", "mfa"),
    Method.PASSKEY_SYNCED: ("swk", "user", "mfa"),
}


@dataclass(frozen=True, slots=True)
class Evidence:
    proofing: Proofing
    method: Method


@dataclass(frozen=True, slots=True)
class Level:
    """What a session asserts to relying parties."""

    acr: AcrLevel
    amr: tuple[str, ...]


def level_for(evidence: Evidence) -> Level:
    """The level ``evidence`` earns: identity proven now (IAL2) only with a current anchor;
    every authenticator here is two-factor (AAL2)."""
    return Level(_acr(evidence.proofing), AMR[evidence.method])


def ial_for(proofing: Proofing) -> int:
    """The identity assurance level (NIST SP 800-63A IAL) a login with ``proofing`` reaches,
    whatever the authenticator: what a change of the anchor's state changes for the person."""
    return _acr(proofing).ial


def _acr(proofing: Proofing) -> AcrLevel:
    return IAL2_AAL2 if proofing is Proofing.CURRENT else IAL1_AAL2


def method_of(amr: tuple[str, ...] | list[str]) -> str:
    """How a session was made, read back from its amr: ``card`` (a PIN was asked), ``passkey``
    (user verification), or ``other``."""
    return "card" if "pin" in amr else "passkey" if "user" in amr else "other"
