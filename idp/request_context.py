"""The id of the request being served: one id per request, shared by the logs and the audit log."""

from __future__ import annotations

import secrets
from contextvars import ContextVar

_REQUEST_ID: ContextVar[str | None] = ContextVar("idp_request_id", default=None)


def current_request_id() -> str | None:
    """The id bound for this request, or None outside one (CLI, background workers)."""
    return _REQUEST_ID.get()


def bind_request_id(value: str | None = None) -> str:
    """Binds the id for the rest of this request: a caller's ``X-Request-Id`` when well formed."""
    request_id = value if value and _well_formed(value) else secrets.token_hex(8)
    _REQUEST_ID.set(request_id)
    return request_id


def _well_formed(value: str) -> bool:
    return 0 < len(value) <= 64 and all(c.isalnum() or c in "-_." for c in value)
