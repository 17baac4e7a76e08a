"""The login policy's named checks and the acr catalogue (pure)."""

from __future__ import annotations

from idp.assurance import levels
from idp.assurance.policy import LOGIN_CHECKS, Requirements, SessionFacts, evaluate

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


def test_max_age_is_measured_from_auth_time() -> None:
    assert evaluate(Requirements(max_age=10), FRESH) is None
    prompt = evaluate(Requirements(max_age=9), FRESH)
    assert prompt is not None
    assert prompt.reasons == ("max_age",)


def test_a_higher_session_level_satisfies_a_lower_request_and_not_the_reverse() -> None:
    assert evaluate(Requirements(acr_values=(IAL1,)), FRESH) is None
    low = SessionFacts(authenticated=True, auth_time=1000, acr=IAL1, consented_at=1000, now=1)
    prompt = evaluate(Requirements(acr_values=(IAL2,)), low)
    assert prompt is not None
    assert prompt.reasons == ("acr_not_met",)


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
