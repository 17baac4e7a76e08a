"""Errors of the J-LIS client: one root, each with a code and a message a person can act on.

J-LIS being unreachable is not the person's fault, but the card protocol can only show a 4xx;
``JlisUnavailableError`` therefore answers 424 *Failed Dependency* ("try again later"), like the
trust core's ``revocation_status_unavailable``.
"""

from __future__ import annotations

from idp.errors import IdpError


class JlisError(IdpError):
    """J-LIS refused or could not answer."""

    code = "jlis_error"
    status = 424


class JlisUnavailableError(JlisError):
    """J-LIS could not be reached or answered with a server error; try again later."""

    code = "jlis_unavailable"
    status = 424


class JlisRefusedError(JlisError):
    """J-LIS refused the call (401/403): wrong API key, or the holder has not consented."""

    code = "jlis_refused"
    status = 403

    def __init__(self, description: str, reason: str = "") -> None:
        self.reason = reason  # J-LIS's own error code, e.g. "consent_required"
        super().__init__(description)


class JlisNotFoundError(JlisError):
    """J-LIS knows no such certificate or CA."""

    code = "jlis_not_found"
    status = 404


class JlisProtocolError(JlisError):
    """J-LIS answered something this client does not understand (4xx or malformed body)."""

    code = "jlis_protocol_error"
    status = 424
