"""The ``[events]`` section of the settings: Shared Signals delivery (``idp.events``).

Kept beside ``idp/settings.py`` (which stays the one settings object and includes it) so that
module stays small; documented here, and in docs/configuration.md by ``idp config docs``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EventsSettings(BaseModel):
    """Change events to relying parties (Shared Signals Framework: push and poll delivery)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    push_timeout_seconds: float = Field(
        3.0, gt=0, description="Timeout of one push of a Security Event Token (RFC 8935).")
    push_max_attempts: int = Field(
        8, ge=1, description="Pushes of one Security Event Token before giving it up.")
    push_retry_seconds: float = Field(
        10.0, gt=0, description="Wait after a receiver's first failure (a timeout, a refused "
        "connection, 5xx, 408, 429); doubled after each further failure in a row.")
    push_retry_max_seconds: float = Field(
        3600.0, gt=0, description="The longest wait between two pushes to a failing receiver.")
    allow_http_loopback: bool = Field(
        False, description="Development only: accept push endpoints on http://127.0.0.1, "
        "http://[::1] and http://localhost (every other endpoint must be https).")
    min_verification_interval_seconds: int = Field(
        10, ge=0, description="How often a receiver may ask for a verification event; more "
        "often is refused with 429.")
    poll_redelivery_seconds: int = Field(
        60, ge=1, description="A Security Event Token served by polling (RFC 8936) and not "
        "acknowledged is served again after this long.")
    worker_interval_seconds: float = Field(
        2.0, gt=0, description="How often each `idp serve` worker's delivery thread looks for "
        "events due.")
