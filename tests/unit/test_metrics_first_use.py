"""The metric objects are made once per process even when a threaded worker's first requests
arrive together (a second registration of the same names would fail the request)."""

from __future__ import annotations

import threading
import time

import pytest

from idp import metrics


def test_concurrent_first_uses_make_the_metrics_once(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[object] = []

    class Slow:
        def __init__(self) -> None:
            time.sleep(0.05)  # wide enough for every thread to arrive while it is being made
            made.append(self)

    monkeypatch.setattr(metrics, "_Metrics", Slow)
    monkeypatch.setattr(metrics, "_MADE", [])
    start, seen, errors = threading.Barrier(8), [], []

    def first_request() -> None:
        start.wait()
        try:
            seen.append(metrics._metrics())
        except Exception as error:  # what the race used to raise: DuplicateTimeseries
            errors.append(error)

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(made) == 1
    assert all(found is made[0] for found in seen)
    assert len(seen) == 8
