"""Every J-LIS call through a breaker is timed in ``idp_jlis_call_seconds`` by outcome, and the
breaker's state is published in ``idp_jlis_breaker_state`` (0 closed, 2 open)."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from idp.jlis.breaker import CircuitBreaker
from idp.jlis.errors import JlisNotFoundError, JlisUnavailableError


def _calls(service: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("idp_jlis_call_seconds_count",
                                     {"service": service, "outcome": outcome}) or 0.0


def _state(service: str) -> float | None:
    return REGISTRY.get_sample_value("idp_jlis_breaker_state", {"service": service})


def _down() -> None:
    raise JlisUnavailableError("J-LIS (test) does not answer")


def _not_found() -> None:
    raise JlisNotFoundError("no such serial")


def test_calls_are_timed_by_outcome_and_an_open_breaker_is_published() -> None:
    service = "test-metrics"
    breaker = CircuitBreaker(service, failure_threshold=2, reset_timeout_seconds=60,
                             clock=lambda: 1000.0)
    before = {o: _calls(service, o) for o in ("ok", "error", "unavailable", "breaker_open")}
    assert breaker.call(lambda: 7) == 7
    with pytest.raises(JlisNotFoundError):
        breaker.call(_not_found)
    assert _state(service) == 0
    for _ in range(2):
        with pytest.raises(JlisUnavailableError):
            breaker.call(_down)
    assert _state(service) == 2
    with pytest.raises(JlisUnavailableError):
        breaker.call(lambda: 7)  # not asked
    after = {o: _calls(service, o) - before[o] for o in before}
    assert after == {"ok": 1, "error": 1, "unavailable": 2, "breaker_open": 1}
