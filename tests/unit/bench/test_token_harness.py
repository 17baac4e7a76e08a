"""The token benchmark tells codes running out (a too-short run) from real failures."""

from __future__ import annotations

import pytest

from bench import token_endpoint
from bench.token_endpoint import Result, Target, _parse_wrk, measure

# One thread ran out of its share early (it then sends "exhausted", refused by design) while the
# other still had codes left: fewer requests in total than codes minted, yet no real failure.
UNEVEN = ("WRK_FIRST_FAILURE 400 {\"error\":\"invalid_grant\"}\n"
          "WRK_RESULT requests=3900 failures=0 exhausted=250 p50_us=9000 p99_us=250000 "
          "duration_us=5000000\n")


def test_requests_after_running_out_of_codes_are_not_failures() -> None:
    result = _parse_wrk("ours", UNEVEN)
    assert (result.requests, result.non_200, result.exhausted) == (3900, 0, 250)


def test_a_run_that_ran_out_of_codes_is_repeated_with_more(
        monkeypatch: pytest.MonkeyPatch) -> None:
    minted: list[int] = []
    answers = iter([_parse_wrk("ours", UNEVEN), Result("ours", 3950, 5.0, 9.0, 250.0, 0)])
    monkeypatch.setattr(token_endpoint, "mint_codes",
                        lambda _target, count: minted.append(count) or ["c"] * count)
    monkeypatch.setattr(token_endpoint, "run_wrk", lambda *_args, **_kw: next(answers))
    target = Target("ours", "http://127.0.0.1:1", "id", "secret", None)  # type: ignore[arg-type]
    result = measure(target, seconds=5, connections=8, threads=2, codes=4000)
    assert (result.requests, minted) == (3950, [4000, 8000])


def test_real_failures_stop_the_run_with_the_first_answer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    failing = Result("ours", 3000, 5.0, 9.0, 250.0, 12, "500 Internal Server Error")
    monkeypatch.setattr(token_endpoint, "mint_codes", lambda _target, count: ["c"] * count)
    monkeypatch.setattr(token_endpoint, "run_wrk", lambda *_args, **_kw: failing)
    target = Target("ours", "http://127.0.0.1:1", "id", "secret", None)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="12 token requests failed, the first with: 500"):
        measure(target, seconds=5, connections=8, threads=2, codes=4000)
