"""What the simulator refuses: one root, each with a stable code and HTTP status."""

from __future__ import annotations

from idp.errors import IdpError


class SimError(IdpError):
    """The J-LIS simulator refused the request."""


class BadRequestError(SimError):
    """The request is malformed."""

    code = "invalid_request"
    status = 400


class UnauthenticatedError(SimError):
    """Send `Authorization: Bearer <api_key>` (register with `idp sim verifier add`)."""

    code = "unauthorized"
    status = 401


class ForbiddenError(SimError):
    """This API key belongs to no registered verifier."""

    code = "forbidden"
    status = 403


class ConsentRequiredError(SimError):
    """The holder has not consented to this disclosure."""

    code = "consent_required"
    status = 403


class UnknownPersonError(SimError):
    """No such resident."""

    code = "not_found"
    status = 404


class UnknownCertificateError(SimError):
    """No certificate with this serial number."""

    code = "not_found"
    status = 404


class UnknownCaError(SimError):
    """No such CA generation."""

    code = "not_found"
    status = 404


class EventImpossibleError(SimError):
    """This life event cannot happen to this resident now."""

    code = "conflict"
    status = 409


class NoSuchEndpointError(SimError):
    """No such endpoint (see docs/jlis-api.md)."""

    code = "not_found"
    status = 404


class MethodNotAllowedError(SimError):
    """This endpoint does not take that HTTP method (see docs/jlis-api.md)."""

    code = "method_not_allowed"
    status = 405
