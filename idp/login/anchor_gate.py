"""The anchor re-check at every passkey sign-in, and what its answer means for the session.

A private ID is only as good as its anchor, the JPKI signing certificate (seed 004, point 1):
each use re-checks the anchor's revocation status. The checker itself (J-LIS, the trust policy,
the record of each check) belongs to the card side and is registered by ``create_app`` as
``app.extensions["idp.anchor_checker"]``; this module only reads its answer:

============================  ============================================================
anchor state                  a passkey sign-in ...
============================  ============================================================
current                       logs in at ial2-aal2 (identity proven by a valid anchor)
needs_reissue, unverifiable   logs in at ial1-aal2; the person is led to ``next_step``
suspended (card lost, ...)    is refused: a new card and a re-issue by card restore it
closed (death, by policy)     is refused: nothing restores it
============================  ============================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from idp.accounts.anchor_policy import AnchorState
from idp.assurance.levels import IAL1_AAL2, IAL2_AAL2
from idp.errors import IdpError
from idp.passkeys.summaries import PasskeyLogin
from idp.passkeys.values import DeviceType


class AnchorCheck(Protocol):
    """One re-check's result, as the card side's checker answers it."""

    @property
    def state(self) -> AnchorState: ...

    @property
    def reason(self) -> str: ...

    @property
    def next_step(self) -> str | None: ...

    @property
    def checked_at(self) -> datetime: ...


class AnchorChecker(Protocol):
    def check(self, private_id: str) -> AnchorCheck:
        """Re-check the private ID's anchor now, record the result, and answer it."""
        ...


class AnchorRefusedError(IdpError):
    """The private ID's anchor does not allow a passkey sign-in."""

    code = "account_not_active"
    status = 403


class AnchorSuspendedError(AnchorRefusedError):
    """This private ID is suspended: both certificates of its My Number Card were revoked (card
    lost or returned). Get a new card, sign in with it and re-issue the private ID."""

    code = "account_suspended"


class AnchorClosedError(AnchorRefusedError):
    """This private ID is closed (its holder's certificates were revoked because of death) and
    can no longer be used."""

    code = "account_closed"


# What each refused state tells the person: why, and what to do (error.{code} in ja/en).
_REFUSALS: dict[AnchorState, type[AnchorRefusedError]] = {
    AnchorState.SUSPENDED: AnchorSuspendedError, AnchorState.CLOSED: AnchorClosedError}


@dataclass(frozen=True)
class PasskeySession:
    """What a passkey sign-in is worth, once the anchor has been re-checked."""

    acr: str
    amr: tuple[str, ...]
    anchor_state: AnchorState
    next_step: str | None


def amr_for(login: PasskeyLogin) -> tuple[str, ...]:
    """RFC 8176 methods: "hwk" for a device-bound key (BE=0), "swk" for a synced one (BE=1: the
    key may leave the hardware), "user" for user verification, "mfa" since UV makes it
    multi-factor (docs/assurance.md)."""
    key = "hwk" if login.passkey.device_type is DeviceType.SINGLE_DEVICE else "swk"
    return (key, "user", "mfa")


def decide(login: PasskeyLogin, check: AnchorCheck,
           translate: Callable[[str], str]) -> PasskeySession:
    """The session a verified passkey sign-in gets under ``check``; raises when refused, with
    the refusal's ``error.{code}`` text in the person's language."""
    refusal = _REFUSALS.get(check.state)
    if refusal is not None:
        raise refusal(translate(f"error.{refusal.code}"))
    acr = IAL2_AAL2 if check.state is AnchorState.CURRENT else IAL1_AAL2
    return PasskeySession(acr.value, amr_for(login), check.state, check.next_step)
