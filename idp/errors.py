"""The root of every error the IdP raises on purpose.

Each package has one exception root deriving from :class:`IdpError`; subclasses carry a stable
``code`` (a spec error code where one exists) and an HTTP ``status``. The app maps them to
responses in one place, so bad input becomes a 4xx with a message a person can act on.
"""

from __future__ import annotations


class IdpError(Exception):
    """Something the IdP refuses, with a message a person can act on."""

    code: str = "invalid_request"
    status: int = 400

    def __init__(self, description: str | None = None) -> None:
        self.description = description or (self.__doc__ or self.code).strip().splitlines()[0]
        super().__init__(self.description)

    def to_dict(self) -> dict[str, str]:
        return {"error": self.code, "error_description": self.description}


class ConfigurationError(IdpError):
    """The instance is not configured for this operation."""

    code = "server_error"
    status = 500


class DatabaseUnavailableError(IdpError):
    """The database connection was lost and has been renewed; nothing was saved. Try again."""

    code = "temporarily_unavailable"  # RFC 6749 §4.1.2.1
    status = 503
    retry_after = "1"  # seconds (Retry-After): the pool has already reconnected


class UnstorableValueError(IdpError):
    """The request holds a value the database cannot take (a NUL character, or far too long)."""

    code = "invalid_request"  # RFC 6749 §5.2: a malformed parameter
    status = 400


# The person's refusals shared by every package (one definition each): the state of their
# private ID, a step that needs a signed-in person, a form without its CSRF token, and a sign-in
# continued in another browser.

class AccountNotActiveError(IdpError):
    """This private ID is suspended or closed, so it no longer signs in. Sign in with your My
    Number Card to find out what to do."""

    code = "account_not_active"
    status = 403


class AccountSuspendedError(AccountNotActiveError):
    """This private ID is suspended: both certificates of its My Number Card were revoked (card
    lost or returned). Get a new card, sign in with it and re-issue the private ID."""

    code = "account_suspended"


class AccountClosedError(AccountNotActiveError):
    """This private ID is closed (its holder's certificates were revoked because of death) and
    can no longer be used."""

    code = "account_closed"


class AccountLockedError(AccountNotActiveError):
    """This private ID has been locked by the platform's administrators and cannot sign in
    for now. Contact the support desk to find out why and what to do."""

    code = "account_locked"


def account_not_active(state: str | None) -> AccountNotActiveError:
    """The refusal that tells the person what their private ID's ``state`` means for them."""
    refusals: dict[str, type[AccountNotActiveError]] = {
        "suspended": AccountSuspendedError, "closed": AccountClosedError}
    return refusals.get(state or "", AccountNotActiveError)()


class LoginRequiredError(IdpError):
    """Sign in first, with your My Number Card or a passkey."""

    code = "login_required"
    status = 401


class CsrfFailedError(IdpError):
    """The X-CSRF-Token header or the JSON body is missing or wrong; reload the page."""

    code = "csrf_failed"
    status = 403


class WrongBrowserError(IdpError):
    """This sign-in was started in another browser: continue there, or start again here."""

    code = "wrong_browser"
    status = 403
