"""Challenges are taken back once, for the ceremony they were made for, before they expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from idp.passkeys.challenges import MemoryChallengeStore, consume
from idp.passkeys.errors import ChallengeExpired, ChallengeUnknown
from idp.passkeys.values import Ceremony, PendingChallenge

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
PENDING = PendingChallenge(Ceremony.AUTHENTICATION, b"c" * 32, NOW + timedelta(minutes=5))


def test_a_challenge_is_taken_back_once() -> None:
    store = MemoryChallengeStore()
    handle = store.save(PENDING)
    assert consume(store, handle, ceremony=Ceremony.AUTHENTICATION, now=NOW) == PENDING
    with pytest.raises(ChallengeUnknown, match="already used or never issued"):
        consume(store, handle, ceremony=Ceremony.AUTHENTICATION, now=NOW)


def test_a_challenge_of_another_ceremony_is_unknown_and_used_up() -> None:
    store = MemoryChallengeStore()
    handle = store.save(PENDING)
    with pytest.raises(ChallengeUnknown):
        consume(store, handle, ceremony=Ceremony.REGISTRATION, now=NOW)
    with pytest.raises(ChallengeUnknown):
        consume(store, handle, ceremony=Ceremony.AUTHENTICATION, now=NOW)


def test_a_challenge_answered_at_its_expiry_is_refused_as_expired() -> None:
    store = MemoryChallengeStore()
    handle = store.save(PENDING)
    with pytest.raises(ChallengeExpired, match="expired"):
        consume(store, handle, ceremony=Ceremony.AUTHENTICATION, now=PENDING.expires_at)


def test_handles_are_unguessable_and_distinct() -> None:
    store = MemoryChallengeStore()
    first, second = store.save(PENDING), store.save(PENDING)
    assert first != second
    assert len(first) >= 32


def test_an_invented_handle_is_unknown() -> None:
    with pytest.raises(ChallengeUnknown):
        consume(MemoryChallengeStore(), "made-up", ceremony=Ceremony.REGISTRATION, now=NOW)
