"""Which claims a token-claims-change tells a relying party: those it was given, at the top level
or inside verified_claims, and no other."""

from __future__ import annotations

from idp.accounts.changes import Change
from idp.events.vocabulary import TOKEN_CLAIMS_CHANGE, events

MOVED = Change("p-1", 1_800_000_000, claims={"address": "東京都千代田区1-1", "name": "山田　一郎"})


def _claims_told(approved: set[str]) -> dict[str, str] | None:
    bodies = dict(events(MOVED, frozenset(approved)))
    body = bodies.get(TOKEN_CLAIMS_CHANGE)
    return None if body is None else body["claims"]


def test_a_claim_given_at_the_top_level_is_told() -> None:
    assert _claims_told({"address"}) == {"address": "東京都千代田区1-1"}


def test_a_claim_given_only_inside_verified_claims_is_told() -> None:
    assert _claims_told({"verified_claims.address", "verified_claims.name"}) == {
        "address": "東京都千代田区1-1", "name": "山田　一郎"}


def test_a_claim_never_given_is_not_told() -> None:
    assert _claims_told({"email", "verified_claims.birthdate"}) is None
