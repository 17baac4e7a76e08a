"""The login policy's named checks and the acr catalogue (pure)."""

from __future__ import annotations

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


BEFORE = 1005  # an interaction that started after FRESH's login (auth_time 1000)


def test_max_age_is_measured_from_auth_time() -> None:
    assert evaluate(Requirements(max_age=10, started_at=BEFORE), FRESH) is None
    prompt = evaluate(Requirements(max_age=9, started_at=BEFORE), FRESH)
    assert prompt is not None
    assert prompt.reasons == ("max_age",)


def test_a_login_during_the_interaction_satisfies_max_age_even_zero() -> None:
    assert evaluate(Requirements(max_age=0, started_at=1000), FRESH) is None
    assert evaluate(Requirements(max_age=0, started_at=1001), FRESH) is not None


def test_a_voluntary_acr_the_session_does_not_reach_asks_for_nothing() -> None:
    low = SessionFacts(authenticated=True, auth_time=1000, acr=IAL1, consented_at=1000, now=1)
    assert evaluate(Requirements(acr_values=(IAL2,), started_at=BEFORE), low) is None


def test_a_higher_session_level_satisfies_an_essential_lower_one_and_not_the_reverse() -> None:
    assert evaluate(Requirements(acr_values=(IAL1,), acr_essential=True), FRESH) is None
    low = SessionFacts(authenticated=True, auth_time=1000, acr=IAL1, consented_at=1000, now=1)
    prompt = evaluate(Requirements(acr_values=(IAL2,), acr_essential=True, started_at=BEFORE),
                      low)
    assert prompt is not None
    assert (prompt.name, prompt.reasons) == ("login", ("acr_not_met",))


def test_an_essential_acr_still_unmet_after_a_login_here_is_unmet_not_another_login() -> None:
    low = SessionFacts(authenticated=True, auth_time=1000, acr=IAL1, consented_at=1000, now=1)
    prompt = evaluate(Requirements(acr_values=(IAL2,), acr_essential=True, started_at=1000), low)
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
