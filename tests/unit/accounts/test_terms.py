"""An onboarding rests on an agreement to the current terms (idp.accounts.terms)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from idp.accounts.terms import (
    TERMS_VERSION,
    Agreement,
    TermsNotAgreedError,
    TermsOutdatedError,
    required,
)

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def test_no_agreement_refuses_the_onboarding_with_a_403() -> None:
    with pytest.raises(TermsNotAgreedError) as refused:
        required(None)
    assert (refused.value.code, refused.value.status) == ("terms_not_agreed", 403)


def test_an_agreement_to_older_terms_is_not_enough() -> None:
    with pytest.raises(TermsOutdatedError):
        required(Agreement("2001-01", NOW))


def test_an_agreement_to_the_current_terms_is_kept_with_its_time() -> None:
    assert required(Agreement(TERMS_VERSION, NOW)) == Agreement(TERMS_VERSION, NOW)
