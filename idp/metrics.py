"""The IdP's Prometheus metrics, observed where things happen and exposed at ``/metrics``.

Every layer may observe (this module imports nothing of the IdP), through the small functions
below. The metric objects are made on first use, and ``prometheus_client`` is imported only
then: under ``idp serve`` that is inside a worker process, after ``PROMETHEUS_MULTIPROC_DIR`` was
set (multi-process mode must be chosen before the first metric exists). The scrape itself, with
the values computed at scrape time (delivery backlogs, CRL age), is ``idp.web.metrics``.

Names (docs/operations.md, "Metrics"):

==================================  ============================================================
``idp_logins_total``                sign-ins by ``method`` (passkey, card) and ``outcome``
``idp_card_requests_total``         card answers by ``purpose`` and ``outcome`` (accepted,
                                    refused: the error code)
``idp_jlis_call_seconds``           J-LIS calls by ``service`` and ``outcome`` (ok; error: a
                                    refusal; unavailable; breaker_open: not asked; failed:
                                    neither, a bug): a histogram
``idp_jlis_breaker_state``          per ``service``: 0 closed, 1 half open, 2 open (the worst
                                    of the live workers)
``idp_validity_checks_total``       revocation checks by ``kind`` (sign, auth) and ``method``
``idp_token_requests_total``        token requests by ``grant`` and ``outcome`` (ok or the error)
``idp_http_requests_total``         every answer by ``method`` and ``status``
``idp_audit_write_seconds``         time to append one audit entry (``observe_audit_write``)
``idp_metering_failures_total``     checks that could not be counted for metering
==================================  ============================================================
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram

# Seconds: J-LIS answers in tens of milliseconds, times out at jlis.timeout_seconds (5 s).
JLIS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
AUDIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
BREAKER_VALUES = {"closed": 0, "half_open": 1, "open": 2}


class _Metrics:
    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.logins: Counter = Counter(
            "idp_logins", "Sign-ins by method and outcome.", ["method", "outcome"])
        self.card_requests: Counter = Counter(
            "idp_card_requests", "Card answers by purpose and outcome.", ["purpose", "outcome"])
        self.jlis: Histogram = Histogram(
            "idp_jlis_call_seconds", "J-LIS calls by service and outcome.",
            ["service", "outcome"], buckets=JLIS_BUCKETS)
        self.breaker: Gauge = Gauge(
            "idp_jlis_breaker_state", "J-LIS breaker per service: 0 closed, 1 half open, 2 open.",
            ["service"], multiprocess_mode="livemax")
        self.checks: Counter = Counter(
            "idp_validity_checks", "Revocation checks by certificate kind and method.",
            ["kind", "method"])
        self.tokens: Counter = Counter(
            "idp_token_requests", "Token requests by grant type and outcome.",
            ["grant", "outcome"])
        self.http: Counter = Counter(
            "idp_http_requests", "Answers by request method and status.", ["method", "status"])
        self.audit_write: Histogram = Histogram(
            "idp_audit_write_seconds", "Time to append one audit log entry.",
            buckets=AUDIT_BUCKETS)
        self.metering_failures: Counter = Counter(
            "idp_metering_failures", "Validity checks that could not be counted for metering.")


_MADE: list[_Metrics] = []
_MAKING = threading.Lock()


def _metrics() -> _Metrics:
    """The metric objects, made once per process: under a lock, because the first requests of a
    threaded worker arrive together and a second registration of a name fails (it did:
    ``DuplicateTimeseries``, a 500 for the request that lost the race)."""
    if _MADE:
        return _MADE[0]
    with _MAKING:
        if not _MADE:
            _MADE.append(_Metrics())
        return _MADE[0]


def login(method: str, outcome: str) -> None:
    """A sign-in ended: ``method`` "passkey" or "card", ``outcome`` "success" or an error code."""
    _metrics().logins.labels(method, outcome).inc()


def card_request(purpose: str, outcome: str) -> None:
    """A card answer was accepted (``outcome`` "accepted") or refused (the error code)."""
    _metrics().card_requests.labels(purpose, outcome).inc()


def jlis_call(service: str, outcome: str, seconds: float) -> None:
    """One J-LIS call through its breaker and how long it took."""
    _metrics().jlis.labels(service, outcome).observe(seconds)


def breaker_state(service: str, state: str) -> None:
    """A J-LIS breaker's state after a call ("closed", "half_open", "open")."""
    _metrics().breaker.labels(service).set(BREAKER_VALUES.get(state, 0))


def validity_check(kind: str, method: str, count: int = 1) -> None:
    """A revocation source answered for ``count`` certificates (``kind`` "sign" or "auth")."""
    _metrics().checks.labels(kind, method).inc(count)


GRANTS = frozenset({
    "authorization_code", "refresh_token", "client_credentials",
    "urn:ietf:params:oauth:grant-type:device_code", "urn:openid:params:grant-type:ciba",
    "urn:ietf:params:oauth:grant-type:token-exchange"})


def token_request(grant: str | None, outcome: str) -> None:
    """A token request was answered: ``outcome`` "ok" or the OAuth error code (a grant type
    the IdP does not know counts as "other": labels stay few whatever clients send)."""
    _metrics().tokens.labels(grant if grant in GRANTS else "other", outcome).inc()


def http_request(method: str, status: int) -> None:
    _metrics().http.labels(method, str(status)).inc()


def observe_audit_write(seconds: float) -> None:
    """How long appending one audit entry took (the audit log calls this per entry)."""
    _metrics().audit_write.observe(seconds)


def metering_failure() -> None:
    """A validity check was made but could not be counted for metering."""
    _metrics().metering_failures.inc()
