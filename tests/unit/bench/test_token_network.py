"""The token-over-a-network benchmark: its proxy delays what it passes, every exchange of a run
succeeds (a failure stops the run), and its table names the measured round trip."""

from __future__ import annotations

import time

import psycopg
import pytest

from bench import token_network
from tests.support.postgres import Cluster


@pytest.mark.postgres
def test_the_proxy_passes_postgresql_through_with_its_delay(pg_cluster: Cluster) -> None:
    def round_trip(delay_ms: float) -> float:
        with token_network._proxy(pg_cluster.port, delay_ms) as port, psycopg.connect(
                f"host=127.0.0.1 port={port} user={pg_cluster.user} dbname=postgres",
                autocommit=True) as connection:
            started = time.perf_counter()
            for _ in range(10):
                assert connection.execute("SELECT 41 + 1").fetchone() == (42,)
            return (time.perf_counter() - started) / 10 * 1000

    assert round_trip(5) >= 10 > round_trip(0)  # 5 ms each way: at least 10 ms a round trip


@pytest.mark.postgres
@pytest.mark.slow
def test_a_small_run_exchanges_every_code_and_reports_it() -> None:
    rows = token_network._child([0.0], [2], 12)
    [row] = rows
    assert (row["threads"], row["delay_ms"]) == (2, 0.0)
    assert row["per_second"] > 0
    assert 0 < row["p50_ms"] <= row["p99_ms"]
    table = token_network._table([dict(row, side="this checkout")])
    assert "| this checkout | 0 ms |" in table
    assert f"{row['rtt_ms']:.2f} ms" in table
