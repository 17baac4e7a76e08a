"""Challenges are single-use and expire (WebAuthn L3 §13.4.3): where they wait, how they end.

The ceremonies make a :class:`PendingChallenge`; a :class:`ChallengeStore` keeps it server-side
under an opaque handle the caller puts in its interaction record; :func:`consume` takes it back
exactly once. A sign-in reads its challenge first (:meth:`ChallengeStore.read`, :func:`usable`)
and takes it in the transaction that records the sign-in, so that nothing is written before the
answer is verified and the anchor re-checked (``idp.web.passkeys``). An in-process store serves
tests and single-process tools; the database store (``idp.passkeys.challenge_store``) serves the
IdP, whose workers share nothing else.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Protocol

from idp.passkeys.errors import ChallengeExpired, ChallengeUnknown
from idp.passkeys.values import Ceremony, PendingChallenge


def new_handle() -> str:
    return secrets.token_urlsafe(24)


class ChallengeStore(Protocol):
    def save(self, pending: PendingChallenge) -> str:
        """Keep ``pending``; answer the handle to take it back with."""
        ...

    def take(self, handle: str) -> PendingChallenge | None:
        """Remove and answer the challenge; ``None`` when unknown or already taken."""
        ...

    def read(self, handle: str) -> PendingChallenge | None:
        """The challenge, left in place; ``None`` when unknown or already taken."""
        ...


def consume(
    store: ChallengeStore, handle: str, *, ceremony: Ceremony, now: datetime
) -> PendingChallenge:
    """The challenge behind ``handle``, once: a second answer, or a late one, is refused."""
    return usable(store.take(handle), ceremony=ceremony, now=now)


def usable(pending: PendingChallenge | None, *, ceremony: Ceremony,
           now: datetime) -> PendingChallenge:
    """``pending`` if it is a live challenge of ``ceremony``; else the refusal."""
    if pending is None or pending.ceremony is not ceremony:
        raise ChallengeUnknown()
    if now >= pending.expires_at:
        raise ChallengeExpired()
    return pending


class MemoryChallengeStore:
    """The in-process store: a dict. Lost on restart and not shared between processes."""

    def __init__(self) -> None:
        self._pending: dict[str, PendingChallenge] = {}

    def save(self, pending: PendingChallenge) -> str:
        handle = new_handle()
        self._pending[handle] = pending
        return handle

    def take(self, handle: str) -> PendingChallenge | None:
        return self._pending.pop(handle, None)

    def read(self, handle: str) -> PendingChallenge | None:
        return self._pending.get(handle)
