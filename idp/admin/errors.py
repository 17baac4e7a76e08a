"""Refusals of the administration (one root, each with its code and HTTP status)."""

from __future__ import annotations

from idp.errors import IdpError


class AdminError(IdpError):
    """The administration refused this request."""


class AdminLoginRequiredError(AdminError):
    """Sign in to the administration first (a passkey, or an API token from `idp admin token`)."""

    code = "admin_login_required"
    status = 401


class AdminTokenExpiredError(AdminLoginRequiredError):
    """This API token has expired: get a new one with `idp admin token`."""

    code = "admin_token_expired"


class NotPermittedError(AdminError):
    """Your administrator role does not allow this action."""

    code = "forbidden"
    status = 403

    def __init__(self, description: str | None = None, *, role: str | None = None,
                 permission: str | None = None) -> None:
        super().__init__(description)
        self.role = role  # the role that acted (admin, auditor, support)
        self.permission = permission  # what the action needs (idp.admin.roles.Permission)


class ConfirmationRequiredError(AdminError):
    """This action needs you to confirm with your passkey again."""

    code = "confirmation_required"
    status = 403


class ReasonRequiredError(AdminError):
    """Give a reason for this action (it is recorded)."""

    code = "reason_required"
    status = 400


class EnrolmentInvalidError(AdminError):
    """This enrolment URL is unknown: ask an administrator for a new one (`idp admin add`)."""

    code = "enrolment_invalid"
    status = 400


class EnrolmentExpiredError(EnrolmentInvalidError):
    """This enrolment URL has expired (it is valid 15 minutes): ask an administrator for a new
    one."""

    code = "enrolment_expired"


class EnrolmentUsedError(EnrolmentInvalidError):
    """This enrolment URL has already been used: it works once. Sign in with your passkey, or
    ask an administrator for a new URL."""

    code = "enrolment_used"


class AdminPasskeyRefusedError(AdminError):
    """The passkey answer was refused (unknown, replayed, expired or not verifiable): try
    again."""

    code = "admin_passkey_refused"
    status = 401


class AdminNotFoundError(AdminError):
    """Nothing of that name exists."""

    code = "not_found"
    status = 404


class AdminConflictError(AdminError):
    """That name is already taken."""

    code = "conflict"
    status = 409


class InvalidAdminInputError(AdminError):
    """The request is not valid."""

    code = "invalid_request"
    status = 400
