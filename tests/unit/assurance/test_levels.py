"""The acr catalogue and its partial order (idp.assurance.levels), table-driven."""

from __future__ import annotations

import pytest

from idp.assurance import levels
from idp.assurance.levels import Eidas

NS = "urn:jpki-idp:acr:"

# value: (IAL, AAL, eIDAS, DS-511, checked now, features)
CATALOGUE = {
    NS + "ial1-aal2": (1, 2, Eidas.LOW, (1, 2), False, set()),
    NS + "ial2-aal2": (2, 2, Eidas.SUBSTANTIAL, (2, 2), False, set()),
    NS + "ial2-aal2-now": (2, 2, Eidas.SUBSTANTIAL, (2, 2), True, set()),
    "phr": (1, 2, Eidas.LOW, (1, 2), False, {"phr"}),
    NS + "ial1-aal2-card": (1, 2, Eidas.LOW, (1, 2), False, {"card"}),
    NS + "ial1-aal2-phr": (1, 2, Eidas.LOW, (1, 2), False, {"phr"}),
    NS + "ial2-aal2-card": (2, 2, Eidas.SUBSTANTIAL, (2, 2), False, {"card"}),
    NS + "ial2-aal2-phr": (2, 2, Eidas.SUBSTANTIAL, (2, 2), False, {"phr"}),
    NS + "ial2-aal2-card-now": (2, 2, Eidas.SUBSTANTIAL, (2, 2), True, {"card"}),
    NS + "ial2-aal2-phr-now": (2, 2, Eidas.SUBSTANTIAL, (2, 2), True, {"phr"}),
}

# value -> every value it implies besides itself (the order written out by hand).
IMPLIES = {
    NS + "ial1-aal2": set(),
    NS + "ial2-aal2": {"ial1-aal2"},
    NS + "ial2-aal2-now": {"ial1-aal2", "ial2-aal2"},
    "phr": {"ial1-aal2", "ial1-aal2-phr"},
    NS + "ial1-aal2-card": {"ial1-aal2"},
    NS + "ial1-aal2-phr": {"ial1-aal2", "phr"},
    NS + "ial2-aal2-card": {"ial1-aal2", "ial2-aal2", "ial1-aal2-card"},
    NS + "ial2-aal2-phr": {"ial1-aal2", "ial2-aal2", "ial1-aal2-phr", "phr"},
    NS + "ial2-aal2-card-now": {"ial1-aal2", "ial2-aal2", "ial2-aal2-now", "ial1-aal2-card",
                                "ial2-aal2-card"},
    NS + "ial2-aal2-phr-now": {"ial1-aal2", "ial2-aal2", "ial2-aal2-now", "ial1-aal2-phr",
                               "ial2-aal2-phr", "phr"},
}


def _full(name: str) -> str:
    return name if name == "phr" else NS + name


def test_the_catalogue_is_exactly_the_table_and_keeps_the_historic_values_first() -> None:
    assert set(levels.supported_values()) == set(CATALOGUE)
    assert levels.supported_values()[:2] == [NS + "ial1-aal2", NS + "ial2-aal2"]


@pytest.mark.parametrize("value", sorted(CATALOGUE))
def test_each_value_maps_to_nist_eidas_and_ds511(value: str) -> None:
    level = levels.lookup(value)
    assert level is not None
    ial, aal, eidas, ds511, now, features = CATALOGUE[value]
    assert (level.ial, level.aal, level.eidas, level.ds511) == (ial, aal, eidas, ds511)
    assert (level.checked_now, set(level.features)) == (now, features)
    assert level.description.endswith(".")


@pytest.mark.parametrize("a", sorted(CATALOGUE))
@pytest.mark.parametrize("b", sorted(CATALOGUE))
def test_the_partial_order(a: str, b: str) -> None:
    la, lb = levels.lookup(a), levels.lookup(b)
    assert la is not None
    assert lb is not None
    expected = a == b or b in {_full(n) for n in IMPLIES[a]}
    assert la.implies(lb) is expected
    assert levels.satisfying(a, [b]) == (b if expected else None)


def test_implies_only_what_it_really_implies() -> None:
    ial2 = levels.IAL2_AAL2
    assert not ial2.implies(levels.IAL2_AAL2_NOW)  # current by a CRL is not "checked now"
    assert not levels.IAL2_AAL2_CARD_NOW.implies(levels.PHR_LEVEL)  # the card is not origin-bound
    assert not levels.IAL2_AAL2_PHR_NOW.implies(levels.IAL2_AAL2_CARD)  # a passkey is no card


@pytest.mark.parametrize(("session", "requested", "asserted"), [
    ("ial2-aal2-card-now", ["ial2-aal2", "ial2-aal2-now"], "ial2-aal2-now"),  # most specific
    ("ial2-aal2-card-now", ["ial2-aal2-card", "ial2-aal2-now"], "ial2-aal2-card"),  # RP's order
    ("ial2-aal2-phr", ["ial2-aal2-card", "phr"], "phr"),
    ("ial2-aal2-phr", ["ial2-aal2-card"], None),
    ("ial2-aal2-phr", ["ial2-aal2-phr", "ial2-aal2"], "ial2-aal2-phr"),  # its own value
    ("ial2-aal2", ["ial1-aal2", "ial2-aal2"], "ial2-aal2"),  # a session from before the change
])
def test_satisfying_picks_a_requested_value_the_session_meets(
        session: str, requested: list[str], asserted: str | None) -> None:
    assert levels.satisfying(_full(session), [_full(v) for v in requested]) == (
        _full(asserted) if asserted else None)


@pytest.mark.parametrize(("session", "requested", "asserted"), [
    ("ial2-aal2-phr-now", [], "ial2-aal2"),
    ("ial1-aal2-card", [], "ial1-aal2"),
    ("ial2-aal2-phr", ["ial2-aal2-card"], "ial2-aal2"),  # voluntary and unmet: the historic value
    ("ial2-aal2-phr", ["phr"], "phr"),
])
def test_a_token_carries_a_met_request_or_the_historic_value(
        session: str, requested: list[str], asserted: str) -> None:
    assert levels.asserted(_full(session), [_full(v) for v in requested]) == _full(asserted)


def test_an_unknown_recorded_acr_is_passed_on_and_meets_nothing() -> None:
    assert levels.asserted("urn:other", []) == "urn:other"
    assert levels.satisfying("urn:other", [NS + "ial1-aal2"]) is None


@pytest.mark.parametrize(("session", "wanted", "lacks"), [
    ("ial2-aal2-phr", "ial2-aal2-card", {"card"}),
    ("ial2-aal2-phr", "ial2-aal2-now", {"checked_now"}),
    ("ial2-aal2-card", "ial2-aal2-card-now", {"checked_now"}),
    ("ial1-aal2-card", "ial2-aal2", {"identity"}),
    ("ial2-aal2-card", "phr", {"phr"}),
    ("ial2-aal2-phr", "ial2-aal2-card-now", {"card", "checked_now"}),
    ("ial2-aal2-card-now", "ial2-aal2-card", set()),
])
def test_missing_names_exactly_the_step_a_session_lacks(
        session: str, wanted: str, lacks: set[str]) -> None:
    level = levels.lookup(_full(wanted))
    assert level is not None
    assert levels.missing(_full(session), level) == lacks
