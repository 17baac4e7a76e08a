"""Refusals of the accounts package: card requests, onboarding, card login, re-issue."""

from __future__ import annotations

from idp.errors import IdpError
from idp.jpki.errors import RevocationUnavailableError


class AccountsError(IdpError):
    """The account step was refused."""


class CardRequestNotFoundError(AccountsError):
    """No such card request: start again from the web page."""

    code = "request_not_found"
    status = 404


class CardRequestExpiredError(AccountsError):
    """The card request has expired: start again from the web page."""

    code = "request_expired"
    status = 410


class CardRequestUsedError(AccountsError):
    """The card request was already answered; a card request is answered once."""

    code = "request_used"
    status = 409


class NotAnsweredError(AccountsError):
    """The card has not answered this request (successfully) yet."""

    code = "request_pending"
    status = 409


class UnknownCardError(AccountsError):
    """No account is linked to this card yet: open one first (onboarding with the signing
    certificate)."""

    code = "unknown_card"
    status = 404


class NotSamePersonError(AccountsError):
    """J-LIS does not link this certificate to the account's card: re-issue with your own
    card's current signing certificate."""

    code = "not_same_person"
    status = 403


class FailedClosedAtLevelError(RevocationUnavailableError):
    """The revocation status could not be established, and the service asks for an identity
    level the trust policy refuses to give without it; try again in a few minutes."""

    def __init__(self, purpose: str, ial: int) -> None:
        super().__init__()
        self.purpose = purpose  # whose status was not established: sign or auth
        self.ial = ial  # the identity level the login asked for
