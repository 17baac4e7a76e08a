"""Evidence → level: the one place that decides the ``acr`` and ``amr`` a login earns.

A login produces evidence of two kinds (seed 004, point 4; docs/assurance.md):

- **identity proofing** — whether the private ID's anchor (the JPKI signing certificate) was
  found valid and not revoked when it was re-checked for this login (``Proofing``);
- **the authenticator** — the My Number Card with its PIN, or a passkey with user verification,
  device-bound (BE=0) or synced (BE=1) (``Method``).

``level_for`` maps the two to what the session asserts. Routes and the protocol never name a
level themselves: they collect the evidence and ask here.

==============================  ====================  ===========================  ==============
proofing                        method                acr (urn:jpki-idp:acr:...)   amr
==============================  ====================  ===========================  ==============
checked now (OCSP, this login)  card + PIN            ial2-aal2-card-now           sc hwk pin mfa
checked now (OCSP, this login)  passkey, device-bound ial2-aal2-phr-now            hwk user mfa
checked now (OCSP, this login)  passkey, synced       ial2-aal2-phr-now            swk user mfa
current (CRL within policy)     card + PIN            ial2-aal2-card               sc hwk pin mfa
current (CRL within policy)     passkey (either)      ial2-aal2-phr                (as above)
not current                     card + PIN            ial1-aal2-card               sc hwk pin mfa
not current                     passkey (either)      ial1-aal2-phr                (as above)
==============================  ====================  ===========================  ==============

Device-bound and synced passkeys earn the same acr: both are AAL2 and phishing resistant; a
device-bound one could be AAL3 (SP 800-63B-4 wants a non-exportable key), but the IdP asks no
attestation, so BE=0 is the authenticator's own word: it shows in ``amr`` (``hwk``), not in
the acr. The card is not AAL3 either: the card request protocol is not bound to the browser's
origin (docs/assurance.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from idp.assurance.levels import (
    IAL1_AAL2_CARD,
    IAL1_AAL2_PHR,
    IAL2_AAL2_CARD,
    IAL2_AAL2_CARD_NOW,
    IAL2_AAL2_PHR,
    IAL2_AAL2_PHR_NOW,
    AcrLevel,
)


class Proofing(Enum):
    """What the anchor re-check of this login found."""

    CHECKED_NOW = "checked_now"  # valid, and OCSP said "good" during this login
    CURRENT = "current"  # valid, not revoked by a CRL within policy: state-certified 4 info
    NOT_CURRENT = "not_current"  # revoked, expired, unknown, or no anchor at all


class Method(Enum):
    """How the person authenticated (RFC 8176 methods in ``AMR``)."""

    CARD = "card"  # the JPKI auth certificate's key on the card, unlocked by its PIN
    PASSKEY_DEVICE_BOUND = "passkey_device_bound"  # BE=0: the key cannot leave the hardware
    PASSKEY_SYNCED = "passkey_synced"  # BE=1: the key may be copied to the person's devices


# RFC 8176: "sc" a smart card, "hwk" proof of a hardware-held key, "swk" of a key that may leave
# the hardware, "pin" a PIN, "user" user presence and verification, "mfa" more than one factor
# (the PIN or the UV gesture is the second factor to the key held).
AMR: dict[Method, tuple[str, ...]] = {
    Method.CARD: ("sc", "hwk", "pin", "mfa"),
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


# (proofing, the card was used) -> the session's acr: the table above.
_ACR: dict[tuple[Proofing, bool], AcrLevel] = {
    (Proofing.CHECKED_NOW, True): IAL2_AAL2_CARD_NOW,
    (Proofing.CHECKED_NOW, False): IAL2_AAL2_PHR_NOW,
    (Proofing.CURRENT, True): IAL2_AAL2_CARD,
    (Proofing.CURRENT, False): IAL2_AAL2_PHR,
    (Proofing.NOT_CURRENT, True): IAL1_AAL2_CARD,
    (Proofing.NOT_CURRENT, False): IAL1_AAL2_PHR,
}


def level_for(evidence: Evidence) -> Level:
    """The level ``evidence`` earns: identity proven (IAL2) only with a current anchor, "now"
    only when OCSP answered during this login; every authenticator here is two-factor (AAL2);
    the card is named (``card``), a passkey is phishing resistant (``phr``)."""
    acr = _ACR[evidence.proofing, evidence.method is Method.CARD]
    return Level(acr, AMR[evidence.method])


def ial_for(proofing: Proofing) -> int:
    """The identity assurance level (NIST SP 800-63A IAL) a login with ``proofing`` reaches,
    whatever the authenticator: what a change of the anchor's state changes for the person."""
    return _ACR[proofing, True].ial


def method_of(amr: tuple[str, ...] | list[str]) -> str:
    """How a session was made, read back from its amr: ``card`` (a PIN was asked), ``passkey``
    (user verification), or ``other``."""
    return "card" if "pin" in amr or "sc" in amr else "passkey" if "user" in amr else "other"
