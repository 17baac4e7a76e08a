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
