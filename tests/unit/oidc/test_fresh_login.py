"""``prompt=login`` and ``max_age=0`` (OIDC Core §3.1.2.1) want a login made after the
authorization request. ``auth_time`` counts whole seconds, so a login in the same second as the
request must not pass for one; a login made during the interaction does. The provider's clock
stands still here, so login, request and the next login all share one second."""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from idp.app import services_of
from idp.oidc import flow
from idp.oidc.flow import Provider
from tests.support import schema
from tests.unit.oidc.conftest import Rp, query

ACR = "urn:jpki-idp:acr:ial2-aal2"
FRESH = pytest.mark.parametrize("fresh", [{"prompt": "login"}, {"max_age": "0"}],
                                ids=["prompt_login", "max_age_0"])


@pytest.fixture
def second(monkeypatch: pytest.MonkeyPatch) -> int:
    """The one second the provider's clock shows throughout the test."""
    frozen = int(time.time())
    monkeypatch.setattr(flow, "now", lambda: frozen)
    return frozen


def _logged_in_and_consented(rp: Rp, second: int) -> str:
    private_id = rp.login(now=second)
    rp.code()  # consent given: only the login is at stake below
    return private_id


def _claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload)
                                                                                  % 4)))
    return decoded


@FRESH
def test_a_login_in_the_same_second_before_the_request_does_not_satisfy_it(
        rp: Rp, second: int, fresh: dict[str, str]) -> None:
    _logged_in_and_consented(rp, second)
    location, _ = rp.authorize(**fresh)
    assert "/interaction/" in location, location  # no code for the earlier login
    state = rp.interaction(location)
    assert state["prompt"] == "login"
    assert state["reasons"] == ["login_prompt" if "prompt" in fresh else "max_age"]


@FRESH
def test_a_login_made_during_the_interaction_satisfies_it_in_the_same_second(
        rp: Rp, second: int, fresh: dict[str, str]) -> None:
    private_id = _logged_in_and_consented(rp, second)
    location, verifier = rp.authorize(**fresh)
    uid = urlsplit(location).path.rsplit("/", 1)[-1]
    _session, redirect_to = Provider(services_of(rp.app).oidc).log_in(
        uid, private_id=private_id, acr=ACR, amr=["hwk", "user", "mfa"], continue_if_done=True)
    assert redirect_to is not None, "the login made here should answer the code"
    tokens = rp.exchange(query(redirect_to)["code"], verifier).get_json()
    assert _claims(tokens["id_token"])["auth_time"] == second  # whole seconds, as OIDC wants


def test_migration_0010_matches_the_interaction_model(database_url: str) -> None:
    assert schema.differences(database_url, "oidc_interactions") == []
