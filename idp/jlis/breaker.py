"""A circuit breaker per J-LIS service, so that a J-LIS outage costs milliseconds, not timeouts.

Without it, every card step waits out ``jlis.timeout_seconds`` while J-LIS hangs (measured with
the 5 s default: the first login 10 s, OCSP and then the CRL download; the next 5 s; again and
again). With it, after ``jlis.breaker_failure_threshold`` failures in a row a service's calls
fail at once with the :class:`JlisUnavailableError` the callers already handle, so the trust
policy's fallback (the CRL index within its staleness, or its refusal) answers straight away.

States (M. Nygard, *Release It!*, "Circuit Breaker"):

closed     calls go through; ``failure_threshold`` failures in a row open the breaker
open       calls fail at once, J-LIS is not asked, for ``reset_timeout_seconds``
half-open  then the next call goes through as the only trial while the others keep failing at
           once: its answer closes the breaker, its failure opens it for another period

A failure is what ``HttpJlisClient`` raises as ``JlisUnavailableError``: a timeout, a refused or
reset connection, a 5xx. Any other outcome (a result, 404 not found, 403 consent required, a
body of the wrong shape) is J-LIS answering. One breaker per service, so a broken OCSP
responder does not stop CRL downloads; each worker process keeps its own (docs/operations.md).
Our own rather than pybreaker's, which runs every call under one lock: docs/adr/0002.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import ParamSpec, TypeVar

from idp import metrics
from idp.jlis.errors import JlisError, JlisUnavailableError
from idp.jlis.values import (
    AgeAnswer,
    Basic4Answer,
    Basic4Consent,
    CaInfo,
    JlisClient,
    Metering,
    PairLink,
    PreviousSerials,
    Purpose,
)
from idp.settings import JlisSettings

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# The J-LIS services, each behind its own breaker (docs/jlis-api.md): the CA list goes with
# the CRL downloads, both being the status lists a verifier fetches.
SERVICES = ("ocsp", "crl", "links", "basic4", "age", "metering")


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """The breaker of one J-LIS service; thread-safe, and no lock is held while J-LIS is asked."""

    def __init__(self, service: str, *, failure_threshold: int, reset_timeout_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.service = service
        self._threshold = failure_threshold
        self._reset = reset_timeout_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED  # HALF_OPEN exactly while the trial call runs
        self._failures = 0
        self._opened_at = 0.0

    @property
    def state(self) -> BreakerState:
        """What the next call meets: an open breaker whose period is over lets a trial through."""
        with self._lock:
            if self._state is BreakerState.OPEN and self._period_over():
                return BreakerState.HALF_OPEN
            return self._state

    def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)``, or JlisUnavailableError at once while the breaker is open.
        Each call is observed in ``idp_jlis_call_seconds`` (outcome ``ok``, ``error``: J-LIS
        answered with a refusal, ``unavailable``, ``breaker_open``: not asked)."""
        started = time.perf_counter()
        try:
            trial = self._admit()
        except JlisUnavailableError:
            metrics.jlis_call(self.service, "breaker_open", time.perf_counter() - started)
            raise
        answered: bool | None = None  # None: neither (a bug in fn, an interrupt)
        outcome = "failed"
        try:
            result = fn(*args, **kwargs)
            answered, outcome = True, "ok"
            return result
        except JlisUnavailableError:
            answered, outcome = False, "unavailable"
            raise
        except JlisError:
            answered, outcome = True, "error"  # J-LIS answered: not found, refused, a body of
            raise  # the wrong shape
        finally:
            self._settle(trial, answered)
            metrics.jlis_call(self.service, outcome, time.perf_counter() - started)
            metrics.breaker_state(self.service, self._state.value)

    def _period_over(self) -> bool:
        return self._clock() - self._opened_at >= self._reset

    def _admit(self) -> bool:
        """True for the one trial call of a half-open breaker; raises while open."""
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return False
            if self._state is BreakerState.OPEN and self._period_over():
                self._state = BreakerState.HALF_OPEN
                return True
            if self._state is BreakerState.HALF_OPEN:
                why = "one call is trying it now"
            else:
                left = self._reset - (self._clock() - self._opened_at)
                why = f"it is not asked again for {left:.0f} s"
        raise JlisUnavailableError(f"J-LIS ({self.service}) is not answering and {why}; "
                                   "try again later")

    def _settle(self, trial: bool, answered: bool | None) -> None:
        with self._lock:
            if answered:
                if self._state is not BreakerState.CLOSED:
                    log.info("J-LIS %s breaker closed: J-LIS answers again", self.service)
                self._state, self._failures = BreakerState.CLOSED, 0
            elif trial and self._state is BreakerState.HALF_OPEN:
                self._open("the trial call failed" if answered is False else
                           "the trial call ended without an answer")
            elif answered is False and self._state is BreakerState.CLOSED:
                self._failures += 1
                if self._failures >= self._threshold:
                    self._open(f"{self._failures} failures in a row")
            # Calls that were already under way when the breaker opened end as they may: their
            # failures neither count nor extend the open period.

    def _open(self, why: str) -> None:
        self._state, self._opened_at = BreakerState.OPEN, self._clock()
        log.warning("J-LIS %s breaker opened (%s): its calls fail at once for %g s, then one "
                    "call tries again", self.service, why, self._reset)


class BreakerJlisClient:
    """A :class:`~idp.jlis.values.JlisClient` whose calls each pass their service's breaker."""

    def __init__(self, inner: JlisClient, breakers: Mapping[str, CircuitBreaker]) -> None:
        self._inner = inner
        self._breakers = dict(breakers)

    @classmethod
    def around(cls, inner: JlisClient, settings: JlisSettings) -> BreakerJlisClient:
        """``inner`` behind one breaker per service, as ``settings`` configure them."""
        return cls(inner, {service: CircuitBreaker(
            service, failure_threshold=settings.breaker_failure_threshold,
            reset_timeout_seconds=settings.breaker_reset_seconds) for service in SERVICES})

    def states(self) -> dict[str, str]:
        """Each service's breaker state (``GET /healthz``)."""
        return {service: breaker.state.value for service, breaker in self._breakers.items()}

    def list_cas(self) -> tuple[CaInfo, ...]:
        return self._breakers["crl"].call(self._inner.list_cas)

    def fetch_crl(self, ca_id: str) -> bytes:
        return self._breakers["crl"].call(self._inner.fetch_crl, ca_id)

    def fetch_crl_by_key(self, key_id: bytes) -> bytes:
        return self._breakers["crl"].call(self._inner.fetch_crl_by_key, key_id)

    def ocsp(self, request_der: bytes) -> bytes:
        return self._breakers["ocsp"].call(self._inner.ocsp, request_der)

    def pair_link(self, serial: str, purpose: Purpose) -> PairLink:
        return self._breakers["links"].call(self._inner.pair_link, serial, purpose)

    def previous_serials(self, serial: str, purpose: Purpose) -> PreviousSerials:
        return self._breakers["links"].call(self._inner.previous_serials, serial, purpose)

    def basic4(self, serial: str, consent: Basic4Consent) -> Basic4Answer:
        return self._breakers["basic4"].call(self._inner.basic4, serial, consent)

    def age(self, serial: str, purpose: Purpose, age: int, on: date) -> AgeAnswer:
        return self._breakers["age"].call(self._inner.age, serial, purpose, age, on)

    def metering(self, since: datetime | None = None) -> Metering:
        return self._breakers["metering"].call(self._inner.metering, since)
