"""The IdP's log lines: JSON objects, one a line, each with the request id it was written for.

``configure`` is called once per process by ``idp serve`` (before its workers fork, which
inherit it). A JSON line has ``time`` (RFC 3339, UTC), ``level``, ``logger``, ``message``,
``request_id`` (written while serving a request), and what the call site added: ``http``
(``method``, ``path``, ``status``, ``duration_ms``) and ``client_id`` for the one line per request
(``idp.web.observe``), ``exception`` when one is logged. What is logged is chosen where it is
logged: never a secret, a PIN, a token, a code or a person's 4 info (docs/operations.md, "Logs").
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from idp.request_context import current_request_id
from idp.settings_ops import LoggingSettings

_EXTRA_FIELDS = ("http", "client_id")


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        request_id = current_request_id()
        if request_id is not None:
            entry["request_id"] = request_id
        for name in _EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Plain lines for a terminal, with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = current_request_id()
        return f"{line} [{request_id}]" if request_id else line


def configure(settings: LoggingSettings, level: str = "INFO") -> None:
    """Send this process's log records to standard error in ``settings.format``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "idp_handler", False)]:
        root.removeHandler(old)
    handler.idp_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("idp.request").setLevel(logging.INFO if settings.requests
                                              else logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # `--dev`: our line replaces its own
