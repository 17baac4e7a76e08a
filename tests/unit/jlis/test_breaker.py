"""The J-LIS circuit breaker: failures open it, an open breaker answers at once, one trial
after the reset period, an answer closes it; J-LIS's own 4xx answers never count."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest
import requests
import responses

from idp.jlis import (
    BreakerJlisClient,
    BreakerState,
    CircuitBreaker,
    HttpJlisClient,
    JlisNotFoundError,
    JlisRefusedError,
    JlisUnavailableError,
)
from idp.settings import JlisSettings

URL = "http://jlis.test"
OCSP = f"{URL}/v1/ocsp"
CRL = f"{URL}/v1/crl/by-key/0a0b"
TIMEOUT = requests.exceptions.ReadTimeout("read timed out")


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _client(clock: Clock, threshold: int = 3, reset: float = 30.0) -> BreakerJlisClient:
    breakers = {service: CircuitBreaker(service, failure_threshold=threshold,
                                        reset_timeout_seconds=reset, clock=clock)
                for service in ("ocsp", "crl", "links", "basic4", "age", "metering")}
    return BreakerJlisClient(HttpJlisClient(URL, "key", timeout_seconds=5), breakers)


def _fail(client: BreakerJlisClient, times: int) -> None:
    for _ in range(times):
        with pytest.raises(JlisUnavailableError):
            client.ocsp(b"request")


def test_three_timeouts_in_a_row_open_the_breaker_and_the_next_call_fails_at_once_unasked(
        mocked: responses.RequestsMock, clock: Clock) -> None:
    calls = mocked.post(OCSP, body=TIMEOUT)
    client = _client(clock)
    _fail(client, 2)
    assert client.states()["ocsp"] == "closed"
    _fail(client, 1)
    assert client.states()["ocsp"] == "open"
    started = time.perf_counter()
    with pytest.raises(JlisUnavailableError, match=r"J-LIS \(ocsp\) is not answering"):
        client.ocsp(b"request")
    assert time.perf_counter() - started < 0.01
    assert calls.call_count == 3  # J-LIS was not asked the fourth time


def test_connection_errors_and_server_errors_count_as_failures(
        mocked: responses.RequestsMock, clock: Clock) -> None:
    mocked.post(OCSP, body=requests.exceptions.ConnectionError("refused"))
    mocked.post(OCSP, status=503)
    mocked.post(OCSP, status=500)
    client = _client(clock)
    _fail(client, 3)
    assert client.states()["ocsp"] == "open"


def test_not_found_and_refusals_are_j_lis_answering_and_never_open_the_breaker(
        mocked: responses.RequestsMock, clock: Clock) -> None:
    mocked.get(f"{URL}/v1/links/pair", status=404, json={"error": "not_found"})
    client = _client(clock, threshold=1)
    for _ in range(5):
        with pytest.raises(JlisNotFoundError):
            client.pair_link("0a", "sign")
    mocked.replace(responses.GET, f"{URL}/v1/links/pair", status=403,
                   json={"error": "consent_required"})
    with pytest.raises(JlisRefusedError):
        client.pair_link("0a", "sign")
    assert client.states()["links"] == "closed"


def test_an_answer_between_failures_starts_the_count_again(
        mocked: responses.RequestsMock, clock: Clock) -> None:
    mocked.post(OCSP, body=TIMEOUT)
    mocked.post(OCSP, body=TIMEOUT)
    mocked.post(OCSP, status=404)
    mocked.post(OCSP, body=TIMEOUT)
    mocked.post(OCSP, body=TIMEOUT)
    client = _client(clock)
    _fail(client, 2)
    with pytest.raises(JlisNotFoundError):
        client.ocsp(b"request")
    _fail(client, 2)
    assert client.states()["ocsp"] == "closed"


def test_each_service_has_its_own_breaker(mocked: responses.RequestsMock, clock: Clock) -> None:
    mocked.post(OCSP, body=TIMEOUT)
    mocked.get(CRL, body=b"\x30\x00")
    client = _client(clock)
    _fail(client, 3)
    assert client.fetch_crl_by_key(b"\x0a\x0b") == b"\x30\x00"
    assert client.states() == {"ocsp": "open", "crl": "closed", "links": "closed",
                               "basic4": "closed", "age": "closed", "metering": "closed"}


def test_after_the_reset_period_one_trial_goes_through_and_its_answer_closes_the_breaker(
        mocked: responses.RequestsMock, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    calls = mocked.post(OCSP, body=TIMEOUT)
    client = _client(clock, reset=30)
    with caplog.at_level(logging.INFO, logger="idp.jlis.breaker"):
        _fail(client, 3)
        clock.now += 29.9
        _fail(client, 1)
        assert calls.call_count == 3
        clock.now += 0.1
        assert client.states()["ocsp"] == "half_open"
        mocked.replace(responses.POST, OCSP, body=b"ocsp-response")
        assert client.ocsp(b"request") == b"ocsp-response"
    assert client.states()["ocsp"] == "closed"
    assert [(r.levelname, r.getMessage().split(":")[0]) for r in caplog.records] == [
        ("WARNING", "J-LIS ocsp breaker opened (3 failures in a row)"),
        ("INFO", "J-LIS ocsp breaker closed")]


def test_a_failed_trial_opens_the_breaker_for_another_period(
        mocked: responses.RequestsMock, clock: Clock) -> None:
    calls = mocked.post(OCSP, body=TIMEOUT)
    client = _client(clock, reset=30)
    _fail(client, 3)
    clock.now += 30
    _fail(client, 1)  # the trial
    assert calls.call_count == 4
    assert client.states()["ocsp"] == "open"
    clock.now += 29
    _fail(client, 1)
    assert calls.call_count == 4  # open again, for a whole period from the trial


class _HeldJlis:
    """A JlisClient whose ocsp() waits until released, as a hung J-LIS would."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def ocsp(self, request_der: bytes) -> bytes:
        self.calls += 1
        self.entered.set()
        self.release.wait(5)
        return b"answer"


def test_while_the_trial_runs_every_other_call_fails_at_once(clock: Clock) -> None:
    breaker = CircuitBreaker("ocsp", failure_threshold=1, reset_timeout_seconds=30, clock=clock)
    with pytest.raises(JlisUnavailableError):
        breaker.call(_raise_unavailable)
    clock.now += 30
    held = _HeldJlis()
    results: list[bytes] = []
    trial = threading.Thread(target=lambda: results.append(breaker.call(held.ocsp, b"r")))
    trial.start()
    assert held.entered.wait(5)
    assert breaker.state is BreakerState.HALF_OPEN
    started = time.perf_counter()
    for _ in range(20):
        with pytest.raises(JlisUnavailableError, match="one call is trying it now"):
            breaker.call(held.ocsp, b"r")
    assert time.perf_counter() - started < 0.05
    held.release.set()
    trial.join(5)
    assert (results, held.calls, breaker.state) == ([b"answer"], 1, BreakerState.CLOSED)


def test_calls_are_not_serialised_by_the_breaker(clock: Clock) -> None:
    """Two calls run at once through a closed breaker (pybreaker holds one lock per call)."""
    breaker = CircuitBreaker("ocsp", failure_threshold=3, reset_timeout_seconds=30, clock=clock)
    both = threading.Barrier(2, timeout=5)
    outcomes: list[int] = []

    def meet() -> None:
        outcomes.append(both.wait())

    threads = [threading.Thread(target=breaker.call, args=(meet,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert sorted(outcomes) == [0, 1]  # the barrier broke neither: both were inside at once


def test_a_trial_that_ends_without_an_answer_leaves_the_breaker_open(clock: Clock) -> None:
    breaker = CircuitBreaker("ocsp", failure_threshold=1, reset_timeout_seconds=30, clock=clock)
    with pytest.raises(JlisUnavailableError):
        breaker.call(_raise_unavailable)
    clock.now += 30
    with pytest.raises(ZeroDivisionError):
        breaker.call(lambda: 1 // 0)
    assert breaker.state is BreakerState.OPEN


def test_the_settings_configure_every_services_breaker(mocked: responses.RequestsMock) -> None:
    mocked.post(OCSP, body=TIMEOUT)
    settings = JlisSettings(breaker_failure_threshold=1, breaker_reset_seconds=60)
    client = BreakerJlisClient.around(HttpJlisClient(URL, "key"), settings)
    _fail(client, 1)
    assert client.states()["ocsp"] == "open"
    assert set(client.states()) == {"ocsp", "crl", "links", "basic4", "age", "metering"}


def _raise_unavailable() -> bytes:
    raise JlisUnavailableError("J-LIS is unreachable")
