# ruff: noqa: N818  (names say what happened, as the flows and the issue speak of them)
"""Everything the passkey component refuses, each with a message a person can act on.

One root (:class:`PasskeyError`) under :class:`idp.errors.IdpError`; the app maps ``status`` and
``code`` to the response once. Messages speak to the person at the browser, not to a developer:
they say what happened and what to do next.
"""

from __future__ import annotations

from idp.errors import IdpError


class PasskeyError(IdpError):
    """The passkey could not be used. Try again, or sign in with your My Number Card."""

    code = "passkey_error"
    status = 400


class InvalidPasskeyResponse(PasskeyError):
    """The browser's passkey answer could not be verified. Try again, or use your card."""

    code = "invalid_passkey_response"


class WrongOrigin(PasskeyError):
    """The passkey was used on a different web address. Open the IdP at its usual address."""

    code = "passkey_wrong_origin"


class WrongRelyingParty(PasskeyError):
    """The passkey was made for a different site. Choose a passkey saved for this IdP."""

    code = "passkey_wrong_rp"


class UserVerificationRequired(PasskeyError):
    """Your device did not check your PIN, fingerprint or face. Unlock it with one and retry."""

    code = "passkey_user_verification_required"


class ChallengeMismatch(PasskeyError):
    """The passkey answered an older request. Reload the page and try again."""

    code = "passkey_challenge_mismatch"


class ChallengeUnknown(PasskeyError):
    """This passkey request was already used or never issued. Reload the page and try again."""

    code = "passkey_challenge_unknown"


class ChallengeExpired(PasskeyError):
    """This passkey request expired. Reload the page and try again."""

    code = "passkey_challenge_expired"


class SignCountRegression(PasskeyError):
    """This passkey's use counter went backwards, so it may have been copied.

    Sign in with your My Number Card and remove this passkey.
    """

    code = "passkey_sign_count_regression"
    status = 403


class UnknownPasskey(PasskeyError):
    """This passkey is not registered here (it may have been removed). Use another or your card."""

    code = "passkey_unknown"
    status = 401


class PasskeyOfAnotherAccount(PasskeyError):
    """This passkey belongs to a different account. Choose a passkey of the account in use."""

    code = "passkey_of_another_account"
    status = 403


class PasskeyAlreadyRegistered(PasskeyError):
    """This passkey is already registered. Use it to sign in, or create one on another device."""

    code = "passkey_already_registered"
    status = 409


class PasskeyNotFound(PasskeyError):
    """No such passkey on your account. Reload the list of your passkeys."""

    code = "passkey_not_found"
    status = 404


class InvalidPasskeyName(PasskeyError):
    """Give the passkey a name of 1 to 64 characters."""

    code = "passkey_invalid_name"


class LastPasskeyNeedsCardLogin(PasskeyError):
    """This is your last passkey. Sign in with your My Number Card first, then remove it."""

    code = "passkey_last_needs_card_login"
    status = 403
