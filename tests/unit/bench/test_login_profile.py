"""The passkey-login benchmark's in-process breakdown: a real login, counted per request."""

from __future__ import annotations

import pytest

from bench.login import run_profile
from bench.login_profile import STEPS, step_of, table


def test_requests_are_named_by_the_login_step_they_serve() -> None:
    assert step_of("GET", "/authorize") == "authorize"
    assert step_of("GET", "/interaction/abc") == "interaction"
    assert step_of("POST", "/interaction/abc/passkey/options") == "passkey_options"
    assert step_of("POST", "/interaction/abc/passkey/verify") == "passkey_verify"
    assert step_of("POST", "/token") == "token"
    assert step_of("GET", "/userinfo") == "userinfo"


@pytest.mark.postgres
@pytest.mark.slow
def test_a_profiled_login_spends_cpu_and_transactions_in_every_request() -> None:
    result = run_profile(people=2, revoked=10, logins=4)
    assert result.logins == 4
    assert list(result.cpu_ms) == list(STEPS)  # no passkey_options: the face brought them
    assert all(result.cpu_ms[step] > 0 for step in STEPS)
    assert result.transactions["passkey_verify"] >= 3  # the sign-in, the anchor, the session
    # Counted at the driver: the token endpoint's raw-cursor statement (the exchange, which
    # appends its audit entry itself) and the interaction's prepared read are seen too.
    assert result.statements["token"] >= 1
    assert result.transactions["token"] == 1
    assert result.statements["interaction"] >= 1
    assert result.pg_transactions is not None
    assert result.pg_transactions >= sum(result.transactions.values())
    assert "| passkey_verify |" in table(result)
