"""What the soak measured: latencies per request kind, failures by kind, and the tables.

A ``Tally`` lives in each client process (and in the life-event driver); the parent merges them.
A failure is any answer the flow did not expect (a 5xx, a 4xx the step should not get, a body
without what the step needs) or no answer at all (status 0: connection error or timeout); a
refusal the flow expects (the lost card's passkey refused 403 ``account_suspended``) is counted
apart, as expected.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Failure:
    kind: str  # the request kind, e.g. "token" or "passkey_verify"
    status: int | None  # HTTP status; 0 when no answer came; None: not about one answer
    code: str  # the error code of the body, the exception's name, or what was missing

    def __str__(self) -> str:
        if self.status is None:
            return f"{self.kind}: {self.code}"
        return f"{self.kind}: {self.status or 'no answer'} {self.code}".rstrip()


@dataclass
class Tally:
    """Seconds per request kind, failures and expected refusals, with one example each."""

    seconds: dict[str, list[float]] = field(default_factory=dict)
    failures: Counter[Failure] = field(default_factory=Counter)
    expected: Counter[Failure] = field(default_factory=Counter)
    examples: dict[Failure, str] = field(default_factory=dict)
    flows: Counter[str] = field(default_factory=Counter)  # completed flows per kind

    def record(self, kind: str, seconds: float) -> None:
        self.seconds.setdefault(kind, []).append(seconds)

    def fail(self, failure: Failure, example: str = "") -> None:
        self.failures[failure] += 1
        self.examples.setdefault(failure, example[:300])

    def refused_as_expected(self, failure: Failure) -> None:
        self.expected[failure] += 1

    def merge(self, other: Tally) -> Tally:
        for kind, values in other.seconds.items():
            self.seconds.setdefault(kind, []).extend(values)
        self.failures.update(other.failures)
        self.expected.update(other.expected)
        self.flows.update(other.flows)
        for failure, example in other.examples.items():
            self.examples.setdefault(failure, example)
        return self

    @property
    def requests(self) -> int:
        return sum(len(values) for values in self.seconds.values())


def merged(tallies: Iterable[Tally]) -> Tally:
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    return total


@dataclass(frozen=True)
class Latency:
    kind: str
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile (1..99) of ``values``, inclusive method (a single value is itself)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def latencies(tally: Tally) -> list[Latency]:
    """Per request kind, most frequent first."""
    rows = [Latency(kind, len(values), percentile(values, 50) * 1000,
                    percentile(values, 99) * 1000, max(values) * 1000)
            for kind, values in tally.seconds.items() if values]
    return sorted(rows, key=lambda row: (-row.count, row.kind))


def latency_table(tally: Tally, seconds: float) -> str:
    lines = ["| request | count | per second | p50 | p99 | max |", "|---|---|---|---|---|---|"]
    for row in latencies(tally):
        lines.append(f"| {row.kind} | {row.count:,} | {row.count / seconds:.1f} | "
                     f"{row.p50_ms:.1f} ms | {row.p99_ms:.1f} ms | {row.max_ms:.0f} ms |")
    lines.append(f"| **all** | **{tally.requests:,}** | **{tally.requests / seconds:.1f}** "
                 "| | | |")
    return "\n".join(lines)


def failure_list(counts: Counter[Failure], examples: dict[Failure, str] | None = None) -> str:
    """One line per kind of failure, most frequent first; ``none`` when there is none."""
    if not counts:
        return "none"
    lines = []
    for failure, count in sorted(counts.items(), key=lambda item: (-item[1], str(item[0]))):
        example = (examples or {}).get(failure, "")
        lines.append(f"- {failure}: {count}" + (f" (e.g. `{example}`)" if example else ""))
    return "\n".join(lines)
