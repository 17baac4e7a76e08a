"""Typed errors of the card layer: what a person holding the card can act on.

One root (:class:`CardError`) deriving from :class:`idp.errors.IdpError`; each status word that
means something to the person (wrong PIN, blocked PIN, missing file) has its own class.
"""

from __future__ import annotations

from idp.errors import IdpError


class CardError(IdpError):
    """The card refused the operation."""

    code = "card_error"
    status = 400


class WrongPinError(CardError):
    """The PIN was wrong."""

    code = "wrong_pin"

    def __init__(self, tries_left: int) -> None:
        self.tries_left = tries_left
        super().__init__(f"wrong PIN: {tries_left} {'try' if tries_left == 1 else 'tries'} left "
                         "before the PIN is blocked")


class PinBlockedError(CardError):
    """The PIN is blocked: reset it at your municipality's office (市区町村窓口)."""

    code = "pin_blocked"


class InvalidPinFormatError(CardError):
    """The PIN does not have the form the card expects (no try was spent)."""

    code = "invalid_pin_format"


class NoSuchFileError(CardError):
    """The card has no such file (not a My Number Card, or no certificate of that kind)."""

    code = "no_such_file"


class SecurityStatusError(CardError):
    """The card wants the PIN verified first."""

    code = "security_status_not_satisfied"


class CardRemovedError(CardError):
    """The card was removed or stopped answering: put it back on the reader and try again."""

    code = "card_removed"


class NoReaderError(CardError):
    """No such card reader (see `idp card readers`)."""

    code = "no_reader"


class NoCardError(CardError):
    """There is no card on the reader."""

    code = "no_card"


class UnexpectedStatusError(CardError):
    """The card answered with a status word this client does not expect."""

    code = "card_protocol_error"

    def __init__(self, sw: int, what: str) -> None:
        self.sw = sw
        super().__init__(f"the card answered {sw:04X} to {what}")


class CardRequestError(CardError):
    """The card request is not one this client will sign (see docs/card.md)."""

    code = "invalid_card_request"


class AnswerRefusedError(CardError):
    """The IdP refused the answer to the card request."""

    code = "answer_refused"
