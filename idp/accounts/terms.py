"""The terms of use and the J-LIS link a person agrees to before onboarding.

Onboarding stores the signing certificate and its 4 info and asks J-LIS for the card's
auth-certificate serial (and, after a renewal, the old→new serial link); J-LIS provides the
latest 4 info only on a later, separately signed consent. The person agrees to this once per
version of the terms, in the interaction, before the card is asked; the agreement (version,
time) travels with the onboarding card request and is recorded with the private ID.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from idp.accounts.errors import AccountsError

# Bump when the terms or the meaning of the J-LIS link change: a new agreement is then needed.
TERMS_VERSION = "2026-11"


@dataclass(frozen=True)
class Agreement:
    """What the person agreed to, and when (UTC)."""

    version: str
    agreed_at: datetime


class TermsNotAgreedError(AccountsError):
    """Agree to the terms of use and the J-LIS link first (the agree action), then register
    with your card."""

    code = "terms_not_agreed"
    status = 403


class TermsOutdatedError(AccountsError):
    """The terms have changed since this page was loaded: read the current version and agree
    again."""

    code = "terms_outdated"
    status = 409


def required(agreement: Agreement | None) -> Agreement:
    """The agreement an onboarding rests on; refused without one to the current terms."""
    if agreement is None:
        raise TermsNotAgreedError()
    if agreement.version != TERMS_VERSION:
        raise TermsOutdatedError()
    return agreement
