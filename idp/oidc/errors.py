"""Errors of the OpenID Connect provider, with the spec's error codes (RFC 6749 §4.1.2.1, §5.2;
OIDC Core §3.1.2.6; RFC 6750 §3.1; RFC 9101 §6.3; RFC 9126 §2.3).

``redirectable`` tells whether /authorize may send the error to the client's redirect URI: it
may not while the client or its redirect URI is unverified (RFC 6749 §4.1.2.1, RFC 9700 §4.1).
"""

from __future__ import annotations

from idp.errors import IdpError
from idp.throttle import TooManyAttemptsError


class OidcError(IdpError):
    """The OpenID Connect request was refused."""

    code = "invalid_request"
    status = 400
    redirectable = True
    # True once the refusal has its audit entry: the token endpoint records an invalid_grant
    # inside the transaction that decided it, and every other refusal once it is raised.
    audited = False


class InvalidRequestError(OidcError):
    """The request is missing a parameter or has an invalid one."""


class RepeatedParameterError(InvalidRequestError):
    """A parameter was sent more than once (RFC 6749 §3.1, §3.2). Never redirected: which of
    its values would name the client or the redirect URI cannot be told."""

    redirectable = False


class InvalidClientError(OidcError):
    """Client authentication failed."""

    code = "invalid_client"
    status = 401
    redirectable = False


class UnknownClientError(OidcError):
    """No relying party is registered with this client_id."""

    redirectable = False


class RedirectUriMismatchError(OidcError):
    """The redirect_uri is not one registered for this relying party."""

    redirectable = False


class InvalidGrantError(OidcError):
    """The code or refresh token is invalid, expired, used or not issued to this client."""

    code = "invalid_grant"


class UnauthorizedClientError(OidcError):
    code = "unauthorized_client"


class UnsupportedGrantTypeError(OidcError):
    code = "unsupported_grant_type"


class UnsupportedResponseTypeError(OidcError):
    """Only the authorization code flow (response_type=code) is supported."""

    code = "unsupported_response_type"


class InvalidScopeError(OidcError):
    code = "invalid_scope"


class AccessDeniedError(OidcError):
    """The person declined."""

    code = "access_denied"


class AuthorizationPendingError(OidcError):
    """The person has not approved the sign-in on this device yet; keep polling (RFC 8628
    §3.5)."""

    code = "authorization_pending"


class SlowDownError(OidcError):
    """Polling too fast: wait 5 seconds more between requests from now on (RFC 8628 §3.5)."""

    code = "slow_down"


class ExpiredTokenError(OidcError):
    """The device code has expired: start the sign-in again on the device (RFC 8628 §3.5)."""

    code = "expired_token"


class InvalidUserCodeError(OidcError):
    """This code is unknown or has expired. Check the code on your TV, or start again there."""

    code = "invalid_user_code"
    redirectable = False


class LoginRequiredError(OidcError):
    """The person must log in, but prompt=none forbids asking."""

    code = "login_required"


class ConsentRequiredError(OidcError):
    """The person must consent, but prompt=none forbids asking."""

    code = "consent_required"


class UnmetAuthenticationRequirementsError(OidcError):
    """The requested authentication context cannot be met (OIDC Unmet Authentication
    Requirements 1.0)."""

    code = "unmet_authentication_requirements"


class InvalidRequestObjectError(OidcError):
    """The request object is invalid: bad signature, issuer, audience or expiry."""

    code = "invalid_request_object"


class InvalidRequestUriError(OidcError):
    """The request_uri is unknown, expired, used, or belongs to another client."""

    code = "invalid_request_uri"


class InvalidTokenError(OidcError):
    """The access token is invalid, expired or revoked."""

    code = "invalid_token"
    status = 401


class InteractionNotFoundError(OidcError):
    """This sign-in step is unknown or has expired; start again from the service."""

    code = "interaction_not_found"
    status = 404
    redirectable = False


class CsrfFailedError(OidcError):
    """The X-CSRF-Token header is missing or wrong; reload the page."""

    code = "csrf_failed"
    status = 403
    redirectable = False


class NotLoggedInError(OidcError):
    """Log in first."""

    code = "login_required"
    status = 401
    redirectable = False


class TooManyDeviceRequestsError(TooManyAttemptsError):
    """Too many device sign-in requests from this address. Wait a few minutes, then start again
    on the device."""

    code = "too_many_requests"
