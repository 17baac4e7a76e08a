"""The operations sections of the settings: ``[metering]``, ``[metrics]`` and ``[logging]``.

Kept beside ``idp/settings.py`` (which stays the one settings object and includes them) so that
module stays small; documented here, and in docs/configuration.md by ``idp config docs``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MeteringSettings(_Section):
    """The price of the validity checks J-LIS charges for, passed on to each relying party
    (`idp metering report`; docs/operations.md, "Metering")."""

    sign_yen: int = Field(
        20, ge=0, description="Price of one validity check of a signing certificate "
        "(署名用電子証明書): per OCSP answer, and per certificate a month by CRL.")
    auth_yen: int = Field(
        2, ge=0, description="Price of one validity check of an auth certificate "
        "(利用者証明用電子証明書): per OCSP answer, and per certificate a month by CRL.")


class MetricsSettings(_Section):
    """`GET /metrics` (Prometheus text format; docs/operations.md, "Metrics")."""

    token: str | None = Field(
        None, description="When set, `/metrics` wants it as `Authorization: Bearer <token>` "
        "(401 otherwise); unset, `/metrics` is open: keep it off the public network then.")
    multiproc_dir: Path | None = Field(
        None, description="Where the worker processes of `idp serve` keep their metric files "
        "(emptied at start). Default: `{var_dir}/metrics`.")


class LoggingSettings(_Section):
    """What `idp serve` writes to standard error."""

    format: Literal["json", "text"] = Field(
        "json", description="`json`: one JSON object a line (every request, with its request "
        "id); `text`: plain lines for a terminal.")
    requests: bool = Field(
        True, description="Log one line per HTTP request (method, path without its query, "
        "status, duration, request id, client_id when known).")
