"""``HttpJlisClient``: the J-LIS verifier API over HTTP (``docs/jlis-api.md``).

One ``requests.Session`` per client (connection reuse), the Bearer key on every verifier call,
a timeout on every call, and every failure mapped to a :class:`JlisError` subclass: the API key
never appears in a message or a log line.
"""

from __future__ import annotations

import base64
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import requests

from idp.audit import entries
from idp.audit.log import AuditLog
from idp.errors import ConfigurationError
from idp.jlis.errors import (
    JlisError,
    JlisNotFoundError,
    JlisProtocolError,
    JlisRefusedError,
    JlisUnavailableError,
)
from idp.jlis.parse import age_answer, basic4_answer, ca_info, metering, pair_link, previous
from idp.jlis.values import (
    AgeAnswer,
    Basic4Answer,
    Basic4Consent,
    CaInfo,
    Metering,
    PairLink,
    PreviousSerials,
    Purpose,
)
from idp.settings import JlisSettings


class HttpJlisClient:
    """A :class:`~idp.jlis.values.JlisClient` over HTTP."""

    def __init__(self, url: str, api_key: str, *, timeout_seconds: float = 5.0,
                 session: requests.Session | None = None,
                 audit: AuditLog | None = None) -> None:
        self._url = url.rstrip("/")
        self._audit = audit  # every call: the service, its outcome and latency
        self._timeout = timeout_seconds
        self._session = session or requests.Session()
        self._headers = {"Authorization": f"Bearer {api_key}"}

    @classmethod
    def from_settings(cls, settings: JlisSettings, *, default_key_file: Path | None = None,
                      audit: AuditLog | None = None) -> HttpJlisClient:
        """The verifier client of ``settings``: the key from ``jlis.api_key``, else
        ``jlis.api_key_file``, else ``default_key_file`` (where ``idp demo`` writes it)."""
        key = settings.api_key
        path = settings.api_key_file or default_key_file
        if key is None and path is not None and path.is_file():
            key = path.read_text().strip()
        if not key:
            raise ConfigurationError("no J-LIS API key: set jlis.api_key or jlis.api_key_file "
                                     "(the card steps need J-LIS)")
        return cls(settings.url, key, timeout_seconds=settings.timeout_seconds, audit=audit)

    # --- status -----------------------------------------------------------------------------
    def list_cas(self) -> tuple[CaInfo, ...]:
        return tuple(ca_info(item) for item in _list(self._json("GET", "/v1/cas")))

    def fetch_crl(self, ca_id: str) -> bytes:
        return self._call("GET", f"/v1/crl/{ca_id}").content

    def fetch_crl_by_key(self, key_id: bytes) -> bytes:
        return self._call("GET", f"/v1/crl/by-key/{key_id.hex()}").content

    def ocsp(self, request_der: bytes) -> bytes:
        response = self._call("POST", "/v1/ocsp", data=request_der,
                              headers={"Content-Type": "application/ocsp-request"})
        return response.content

    # --- links, 4 info, age -----------------------------------------------------------------
    def pair_link(self, serial: str, purpose: Purpose) -> PairLink:
        return pair_link(self._json("GET", "/v1/links/pair",
                                    params={"serial": serial, "purpose": purpose}))

    def previous_serials(self, serial: str, purpose: Purpose) -> PreviousSerials:
        return previous(self._json("GET", "/v1/links/previous",
                                   params={"serial": serial, "purpose": purpose}))

    def basic4(self, serial: str, consent: Basic4Consent) -> Basic4Answer:
        body = {"serial": serial, "consent": {
            "certificate": base64.b64encode(consent.certificate).decode(),
            "to_be_signed": base64.urlsafe_b64encode(consent.to_be_signed).decode().rstrip("="),
            "consent_text": consent.consent_text,
            "signature": base64.b64encode(consent.signature).decode(),
        }}
        return basic4_answer(self._json("POST", "/v1/basic4", json=body))

    def age(self, serial: str, purpose: Purpose, age: int, on: date) -> AgeAnswer:
        body = {"serial": serial, "purpose": purpose, "age": age, "on": on.isoformat()}
        return age_answer(self._json("POST", "/v1/age", json=body))

    def metering(self, since: datetime | None = None) -> Metering:
        params = {"since": since.isoformat()} if since else None
        return metering(self._json("GET", "/v1/metering", params=params))

    # --- transport --------------------------------------------------------------------------
    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._call(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise JlisProtocolError(f"J-LIS answered {path} with no JSON") from exc

    def _call(self, method: str, path: str, *, headers: dict[str, str] | None = None,
              **kwargs: Any) -> requests.Response:
        started, outcome = time.perf_counter(), "unavailable"
        try:
            response = self._request(method, path, headers, **kwargs)
            outcome = "ok" if response.status_code < 400 else str(response.status_code)
        finally:
            if self._audit is not None:
                self._audit.record("jlis.call", actor=entries.system(), target=path,
                                   outcome=outcome, details={
                                       "method": method, "service": _service(path),
                                       "latency_ms": round(
                                           (time.perf_counter() - started) * 1000)})
        if response.status_code >= 400:
            raise _error(path, response)
        return response

    def _request(self, method: str, path: str, headers: dict[str, str] | None,
                 **kwargs: Any) -> requests.Response:
        try:
            response = self._session.request(
                method, self._url + path, headers={**self._headers, **(headers or {})},
                timeout=self._timeout, **kwargs)
        except requests.RequestException as exc:
            raise JlisUnavailableError(f"J-LIS at {self._url} is unreachable "
                                       f"({type(exc).__name__}); try again later") from exc
        return response


def _service(path: str) -> str:
    """The J-LIS service a path calls ("/v1/ocsp", "/v1/links"), without the serial in it."""
    return "/".join(path.split("/")[:3])


def _error(path: str, response: requests.Response) -> JlisError:
    try:
        body = response.json()
        code, text = str(body.get("error", "")), str(body.get("error_description", ""))
    except (ValueError, AttributeError):
        code, text = "", ""
    detail = f"J-LIS refused {path} with {response.status_code} {code}: {text}".rstrip(": ")
    if response.status_code in (401, 403):
        return JlisRefusedError(detail, code)
    if response.status_code == 404:
        return JlisNotFoundError(detail)
    if response.status_code >= 500:
        return JlisUnavailableError(detail + "; try again later")
    return JlisProtocolError(detail)


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise JlisProtocolError("J-LIS answered /v1/cas with no list")
    return value
