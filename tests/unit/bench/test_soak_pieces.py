"""The soak benchmark's pieces, fast: the round-robin proxy, the accounting of answers, the report.

The whole soak (``python -m bench soak``) needs minutes of setup and run; these tests hold the
parts its figures rest on: every request reaches a node, in turn, with its bytes intact; every
answer a flow did not expect is counted as a failure of its kind, an expected refusal apart;
percentiles and tables say what the samples say.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from bench.soak_flows import Browser, Target, Unexpected
from bench.soak_proxy import RoundRobinProxy
from bench.soak_report import (
    Failure,
    Tally,
    failure_list,
    latencies,
    latency_table,
    merged,
    percentile,
)
from tests.support.http_stub import http_stub
from tests.support.sim import free_port


@contextmanager
def node(name: str) -> Iterator[int]:
    """An HTTP server answering its name and echoing what is POSTed; its port."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._reply(name.encode())

        def do_POST(self) -> None:
            self._reply(self.rfile.read(int(self.headers["Content-Length"])))

        def _reply(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Node", name)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def closing() -> requests.Session:
    http = requests.Session()
    http.headers["Connection"] = "close"
    return http


def test_the_proxy_hands_each_connection_to_the_next_node_with_its_bytes_intact() -> None:
    with node("a") as a, node("b") as b, RoundRobinProxy([("127.0.0.1", a),
                                                          ("127.0.0.1", b)]) as proxy:
        http = closing()
        seen = [http.get(proxy.url, timeout=10).text for _ in range(6)]
        body = bytes(range(256)) * 1024  # 256 KiB, more than one read
        echoed = http.post(proxy.url, data=body, timeout=10)
        assert seen == ["a", "b", "a", "b", "a", "b"]
        assert (echoed.headers["X-Node"], echoed.content == body) == ("a", True)
        assert (proxy.connections, proxy.refused) == ([4, 3], 0)


def test_a_node_that_refuses_is_counted_and_its_client_sees_the_connection_end() -> None:
    with node("a") as a, RoundRobinProxy([("127.0.0.1", a),
                                          ("127.0.0.1", free_port())]) as proxy:
        http = closing()
        assert http.get(proxy.url, timeout=10).text == "a"
        with pytest.raises(requests.ConnectionError):
            http.get(proxy.url, timeout=10)
        assert (proxy.connections, proxy.refused) == ([1, 0], 1)


def test_a_connection_idle_in_both_directions_is_ended_and_counted() -> None:
    """A node that accepts and never answers: the proxy gives up after ``idle_seconds``."""
    silent = socket.create_server(("127.0.0.1", 0))
    try:
        with RoundRobinProxy([("127.0.0.1", silent.getsockname()[1])],
                             idle_seconds=0.5) as proxy:
            with pytest.raises(requests.ConnectionError):
                closing().get(proxy.url, timeout=10)
            deadline = time.monotonic() + 5  # the other direction gives up a moment later
            while proxy.stalled < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert (proxy.connections, proxy.stalled) == ([1], 2)
    finally:
        silent.close()


def test_the_proxy_forwards_to_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        RoundRobinProxy([("10.0.0.1", 80)])


def browser(url: str, tally: Tally) -> Browser:
    return Browser(Target(url, "http://localhost:1", "client", "secret"), tally)


def test_an_answer_a_step_does_not_expect_is_a_failure_of_its_kind_and_stops_the_flow() -> None:
    tally = Tally()
    with http_stub((503, b'{"error": "temporarily_unavailable"}', 0.0),
                   (400, b'{"error": "invalid_grant"}', 0.0), (200, b"{}", 0.0)) as stub:
        client = browser(stub.base_url, tally)
        for kind in ("token", "token", "userinfo"):
            with pytest.raises(Unexpected):
                client.call(kind, "POST", "/token", expect=(302,))
    assert tally.failures == {Failure("token", 503, "temporarily_unavailable"): 1,
                              Failure("token", 400, "invalid_grant"): 1,
                              Failure("userinfo", 200, "unexpected"): 1}
    assert {kind: len(values) for kind, values in tally.seconds.items()} == {
        "token": 2, "userinfo": 1}  # timed all the same


def test_an_expected_refusal_is_counted_apart_and_its_absence_is_a_failure() -> None:
    tally = Tally()
    with http_stub((403, b'{"error": "account_suspended"}', 0.0), (200, b"{}", 0.0)) as stub:
        client = browser(stub.base_url, tally)
        assert client.call("passkey_verify", "POST", "/v",
                           refusal="account_suspended").status_code == 403
        with pytest.raises(Unexpected):  # signed in although the account is suspended
            client.call("passkey_verify", "POST", "/v", refusal="account_suspended")
    assert tally.expected == {Failure("passkey_verify", 403, "account_suspended"): 1}
    assert tally.failures == {Failure("passkey_verify", 200, "unexpected"): 1}


def test_no_answer_is_a_failure_with_status_0() -> None:
    tally = Tally()
    with pytest.raises(Unexpected):
        browser(f"http://127.0.0.1:{free_port()}", tally).call("authorize", "GET", "/authorize")
    assert list(tally.failures) == [Failure("authorize", 0, "ConnectionError")]
    assert str(Failure("authorize", 0, "ConnectionError")) == "authorize: no answer " \
        "ConnectionError"
    assert str(Failure("life_event", None, "renew: recheck reported []")) == \
        "life_event: renew: recheck reported []"


def test_the_origin_the_issuer_names_is_reached_through_the_proxy_address() -> None:
    tally = Tally()
    with http_stub((200, b"{}", 0.0)) as stub:
        client = Browser(Target(stub.base_url, "http://localhost:1", "c", "s"), tally)
        client.call("interaction", "GET", "http://localhost:1/interaction/u")
        assert stub.requests == [("/interaction/u", {})]


def test_percentiles_latencies_and_tables() -> None:
    tally = Tally()
    for ms in range(1, 101):
        tally.record("token", ms / 1000)
    tally.record("userinfo", 0.005)
    assert (percentile([0.2], 99), percentile([0.001 * i for i in range(1, 101)], 50)) == \
        (0.2, pytest.approx(0.0505))
    token, userinfo = latencies(tally)
    assert (token.kind, token.count, token.max_ms) == ("token", 100, 100.0)
    assert token.p99_ms == pytest.approx(99.01)
    assert (userinfo.count, userinfo.p50_ms) == (1, 5.0)
    table = latency_table(tally, seconds=10)
    assert "| token | 100 | 10.0 | 50.5 ms | 99.0 ms | 100 ms |" in table
    assert table.endswith("| **all** | **101** | **10.1** | | | |")


def test_tallies_merge_and_failures_are_listed_most_frequent_first() -> None:
    first, second = Tally(), Tally()
    first.fail(Failure("token", 500, "server_error"), "boom")
    second.fail(Failure("token", 500, "server_error"), "again")
    second.fail(Failure("userinfo", 401, "invalid_token"))
    second.flows["refresh"] += 2
    total = merged([first, second])
    assert (total.failures[Failure("token", 500, "server_error")], total.flows["refresh"]) == \
        (2, 2)
    assert failure_list(total.failures, total.examples).splitlines() == [
        "- token: 500 server_error: 2 (e.g. `boom`)", "- userinfo: 401 invalid_token: 1"]
    assert failure_list(Tally().failures) == "none"
