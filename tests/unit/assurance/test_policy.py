"""The login policy's named checks and the acr catalogue (pure)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from idp.assurance import levels
from idp.assurance.policy import LOGIN_CHECKS, UNMET, Requirements, SessionFacts, evaluate

IAL2 = levels.IAL2_AAL2.value
IAL1 = levels.IAL1_AAL2.value
FRESH = SessionFacts(authenticated=True, auth_time=1000, acr=IAL2,
                     consented_claims=frozenset({"name"}), consented_at=1000, now=1010)


def test_no_session_needs_login() -> None:
    prompt = evaluate(Requirements(), SessionFacts(now=5))
    assert prompt is not None
    assert prompt.name == "login"
    assert "no_session" in prompt.reasons


def test_everything_satisfied_needs_nothing() -> None:
    assert evaluate(Requirements(claims=frozenset({"name"})), FRESH) is None


HERE = replace(FRESH, logged_in_here=True)  # FRESH's login was made during the interaction
SAME_SECOND = replace(FRESH, now=FRESH.auth_time)  # made before it, in the request's second


def test_max_age_is_measured_from_auth_time() -> None:
    assert evaluate(Requirements(max_age=10), FRESH) is None
    prompt = evaluate(Requirements(max_age=9), FRESH)
    assert prompt is not None
    assert prompt.reasons == ("max_age",)


def test_a_login_during_the_interaction_satisfies_max_age_even_zero() -> None:
    assert evaluate(Requirements(max_age=0), HERE) is None
    assert evaluate(Requirements(max_age=0), FRESH) is not None


def test_prompt_login_and_max_age_zero_want_a_login_here_even_in_the_same_second() -> None:
    for requirements, reason in ((Requirements(prompt=frozenset({"login"})), "login_prompt"),
                                 (Requirements(max_age=0), "max_age")):
        prompt = evaluate(requirements, SAME_SECOND)
        assert prompt is not None
        assert prompt.reasons == (reason,)
        assert evaluate(requirements, replace(SAME_SECOND, logged_in_here=True)) is None


def test_a_voluntary_acr_the_session_does_not_reach_asks_for_nothing() -> None:
    low = SessionFacts(authenticated=True, auth_time=1000, acr=IAL1, consented_at=1000, now=1)
    assert evaluate(Requirements(acr_values=(IAL2,)), low) is None


def test_a_higher_session_level_satisfies_an_essential_lower_one_and_not_the_reverse() -> None:
    assert evaluate(Requirements(acr_values=(IAL1,), acr_essential=True), FRESH) is None
    low = SessionFacts(authenticated=True, auth_time=1000, acr=IAL1, consented_at=1000, now=1)
    prompt = evaluate(Requirements(acr_values=(IAL2,), acr_essential=True), low)
    assert prompt is not None
    assert (prompt.name, prompt.reasons) == ("login", ("acr_not_met",))


def test_an_essential_acr_still_unmet_after_a_login_here_is_unmet_not_another_login() -> None:
    low = SessionFacts(authenticated=True, auth_time=1000, logged_in_here=True, acr=IAL1,
                       consented_at=1000, now=1)
    prompt = evaluate(Requirements(acr_values=(IAL2,), acr_essential=True), low)
    assert prompt is UNMET


def test_the_asserted_acr_is_one_that_was_requested() -> None:
    assert levels.satisfying(IAL2, [IAL1]) == IAL1
    assert levels.satisfying(IAL2, [IAL1, IAL2]) == IAL2
    assert levels.satisfying(IAL1, [IAL2]) is None


def test_new_claims_need_consent() -> None:
    prompt = evaluate(Requirements(claims=frozenset({"name", "address"})), FRESH)
    assert prompt is not None
    assert prompt.name == "consent"


def test_every_check_has_a_reason_and_a_description() -> None:
    for check in LOGIN_CHECKS:
        assert check.reason
        assert check.description.endswith(".")


def test_catalogue_maps_every_level_to_nist_and_eidas() -> None:
    for level in levels.CATALOGUE:
        assert level.ial in (1, 2, 3)
        assert level.aal in (1, 2, 3)
        assert level.eidas in levels.Eidas


PHR_SESSION = levels.IAL2_AAL2_PHR.value  # a synced (or device-bound) passkey, anchor current
CARD_SESSION = levels.IAL2_AAL2_CARD.value
CARD = levels.IAL2_AAL2_CARD.value
CARD_NOW = levels.IAL2_AAL2_CARD_NOW.value
NOW_ANY = levels.IAL2_AAL2_NOW.value


def _session(acr: str, **changes: object) -> SessionFacts:
    return replace(FRESH, acr=acr, **changes)  # type: ignore[arg-type]


# (session acr, requested, essential, prompt parameter) -> the login reasons (None: no prompt)
STEP_UPS = [
    (PHR_SESSION, (CARD,), False, frozenset(), ("step_up_card",)),
    (PHR_SESSION, (CARD,), True, frozenset(), ("acr_not_met", "step_up_card")),
    (PHR_SESSION, (NOW_ANY,), False, frozenset(), ("step_up_checked_now",)),
    (PHR_SESSION, (CARD_NOW,), False, frozenset(), ("step_up_card", "step_up_checked_now")),
    (CARD_SESSION, ("phr",), False, frozenset(), ("step_up_passkey",)),
    (PHR_SESSION, (CARD, NOW_ANY), False, frozenset(), ("step_up_card",)),  # RP's preference
    (PHR_SESSION, (CARD_NOW, NOW_ANY), False, frozenset(), ("step_up_checked_now",)),  # fewest
    (PHR_SESSION, (CARD,), False, frozenset({"none"}), None),  # voluntary + prompt=none: code
    (PHR_SESSION, (levels.IAL2_AAL2.value,), False, frozenset(), None),  # already met
    # An identity that needs a re-issue is no login step: voluntary asks nothing, essential
    # keeps the fresh login (acr_not_met) and names the steps a login can bring.
    (levels.IAL1_AAL2_PHR.value, (CARD,), False, frozenset(), None),
    (levels.IAL1_AAL2_PHR.value, (CARD,), True, frozenset(), ("acr_not_met", "step_up_card")),
]


@pytest.mark.parametrize(("requirements", "reasons"), [
    (Requirements(acr_values=(CARD,), max_age=5), ("max_age", "step_up_card")),
    (Requirements(acr_values=(CARD,), max_age=50), None),  # young enough: nothing to ask
    (Requirements(acr_values=(CARD,), prompt=frozenset({"login"})),
     ("login_prompt", "step_up_card")),
    (Requirements(acr_values=(levels.IAL2_AAL2.value,), max_age=5), ("max_age",)),  # any login
    (Requirements(acr_values=(NOW_ANY,), max_age=5), ("max_age", "step_up_checked_now")),
])
def test_a_login_again_keeps_the_step_the_requested_value_needs(
        requirements: Requirements, reasons: tuple[str, ...] | None) -> None:
    session = _session(levels.IAL2_AAL2_CARD_NOW.value)  # 10 seconds old
    asked = evaluate(replace(requirements, claims=frozenset({"name"})), session)
    got = (asked.name, asked.reasons) if asked else None
    assert got == (("login", reasons) if reasons else None)


@pytest.mark.parametrize(("acr", "requested", "essential", "prompt", "reasons"), STEP_UPS)
def test_a_step_up_names_exactly_the_missing_step(
        acr: str, requested: tuple[str, ...], essential: bool, prompt: frozenset[str],
        reasons: tuple[str, ...] | None) -> None:
    asked = evaluate(Requirements(prompt=prompt, acr_values=requested, acr_essential=essential,
                                  claims=frozenset({"name"})), _session(acr))
    got = (asked.name, asked.reasons) if asked else None
    assert got == (("login", reasons) if reasons else None)


@pytest.mark.parametrize(("essential", "after"), [(False, None), (True, UNMET)])
def test_a_step_is_asked_once_per_interaction(essential: bool, after: object) -> None:
    """After the step (a login here) the voluntary request gets a code at the session's
    level, the essential one is unmet: never another login."""
    requirements = Requirements(acr_values=(CARD,), acr_essential=essential,
                                claims=frozenset({"name"}))
    assert evaluate(requirements, _session(PHR_SESSION, logged_in_here=True)) is after
    assert evaluate(requirements, _session(CARD_SESSION, logged_in_here=True)) is None
