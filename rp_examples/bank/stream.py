"""The bank's Shared Signals stream at the IdP: created or brought up to date at start-up, with
push delivery (RFC 8935) to the bank's own endpoint.

The bank reads the transmitter's configuration (``/.well-known/ssf-configuration``, SSF §7),
gets an access token with its own client credentials (``client_credentials``, scope ``ssf``:
docs/events.md), looks for its stream and either creates it (``POST``) or points the existing
one at this process's endpoint and push secret (``PATCH``), then asks for a verification event
(SSF §8.1.4) so the back office shows at once that the link works.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

PUSH = "urn:ietf:rfc:8935"
TIMEOUT = 10  # seconds


class StreamError(RuntimeError):
    """The IdP refused a stream call (its ``error_description`` is in the message)."""


@dataclass(frozen=True)
class Stream:
    stream_id: str
    events_delivered: tuple[str, ...]
    endpoint_url: str


class StreamClient:
    """Stream management with a Bearer token from ``token()`` (a fresh client-credentials
    token: they live ten minutes and cannot be refreshed)."""

    def __init__(self, issuer: str, token: Callable[[], str],
                 http: requests.Session | None = None) -> None:
        self.issuer = issuer.rstrip("/")
        self._token = token
        self._http = http or requests.Session()
        self._config: dict[str, Any] | None = None

    def configuration(self) -> dict[str, Any]:
        if self._config is None:
            response = self._http.get(f"{self.issuer}/.well-known/ssf-configuration",
                                      timeout=TIMEOUT)
            response.raise_for_status()
            self._config = dict(response.json())
        return self._config

    def _call(self, method: str, endpoint: str, **kwargs: Any) -> requests.Response:
        response = self._http.request(
            method, self.configuration()[endpoint], timeout=TIMEOUT,
            headers={"Authorization": f"Bearer {self._token()}"}, **kwargs)
        if response.status_code >= 400:
            try:
                said = response.json().get("error_description", response.text)
            except ValueError:
                said = response.text
            raise StreamError(f"{method} {endpoint}: {response.status_code} {said}")
        return response

    def ensure_push(self, endpoint_url: str, authorization_header: str,
                    description: str = "テスト銀行 back office") -> Stream:
        """The bank's one stream, pushing to ``endpoint_url`` with ``authorization_header``."""
        delivery = {"method": PUSH, "endpoint_url": endpoint_url,
                    "authorization_header": authorization_header}
        existing = self._call("GET", "configuration_endpoint").json()
        if existing:
            body = {"stream_id": existing[0]["stream_id"], "delivery": delivery}
            config = self._call("PATCH", "configuration_endpoint", json=body).json()
        else:
            config = self._call("POST", "configuration_endpoint",
                                json={"delivery": delivery, "description": description}).json()
        return Stream(config["stream_id"], tuple(config.get("events_delivered", ())),
                      config["delivery"]["endpoint_url"])

    def verify(self, stream_id: str, state: str) -> None:
        """Ask for a verification event carrying ``state`` (at most one a minute)."""
        self._call("POST", "verification_endpoint", json={"stream_id": stream_id,
                                                          "state": state})

    def jwks(self) -> dict[str, Any]:
        response = self._http.get(self.configuration()["jwks_uri"], timeout=TIMEOUT)
        response.raise_for_status()
        return dict(response.json())
