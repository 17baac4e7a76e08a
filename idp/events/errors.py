"""Refusals of the Shared Signals transmitter's endpoints.

SSF §8 names only HTTP statuses; the body is the IdP's usual ``{"error", "error_description"}``
with RFC 6749/6750 codes where one fits. A bad or missing access token is 401
``invalid_token``, one without the scope ``ssf`` 403 ``insufficient_scope`` (RFC 6750 §3.1),
both with ``WWW-Authenticate: Bearer`` (``idp.web.ssf``).
"""

from __future__ import annotations

from idp.errors import IdpError


class EventsError(IdpError):
    """The stream request is malformed or asks for something this transmitter does not do."""

    code = "invalid_request"
    status = 400


class BearerError(EventsError):
    """Send the access token from the client_credentials grant (scope ssf) as a Bearer token."""

    code = "invalid_token"
    status = 401


class InsufficientScopeError(BearerError):
    """The access token does not carry the scope ssf."""

    code = "insufficient_scope"
    status = 403


class StreamNotFoundError(EventsError):
    """This receiver has no stream with that stream_id."""

    code = "not_found"
    status = 404


class StreamExistsError(EventsError):
    """This receiver already has a stream (one per receiver): read it, then update or replace
    it."""

    code = "stream_exists"
    status = 409


class TooManyVerificationsError(EventsError):
    """Verification was asked for too soon after the last one (min_verification_interval)."""

    code = "too_many_requests"
    status = 429

    def __init__(self, retry_after: int) -> None:
        self.retry_after = str(max(1, retry_after))
        super().__init__()
