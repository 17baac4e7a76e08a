"""Passkeys in the interaction's JSON face: registration offer, sign-in, the anchor re-check."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import Select

from idp.accounts.anchor_check import AnchorCheck, Asked
from idp.accounts.anchor_policy import AnchorState
from idp.accounts.sessions import COOKIE_NAME
from idp.app import create_app, services_of
from idp.settings import Settings
from tests.support.webauthn_authenticator import SoftAuthenticator
from tests.unit.oidc.conftest import ISSUER, Rp, idp_app, query, register

ORIGIN = "http://localhost:8000"
IAL2 = "urn:jpki-idp:acr:ial2-aal2"
IAL1 = "urn:jpki-idp:acr:ial1-aal2"
IAL1_PHR = "urn:jpki-idp:acr:ial1-aal2-phr"  # the session's own value (idp.assurance.evidence)


@dataclass
class FakeChecker:
    """Stands in for the card side's anchor checker: answers ``state`` and counts the checks."""

    state: AnchorState = AnchorState.CURRENT
    checked: list[str] = field(default_factory=list)

    def check(self, private_id: str) -> AnchorCheck:
        self.checked.append(private_id)
        step = {AnchorState.NEEDS_REISSUE: "reissue", AnchorState.SUSPENDED: "reissue"}.get(
            self.state)
        return AnchorCheck(private_id, self.state, f"fake:{self.state.value}", step,
                           datetime.now(UTC))

    @staticmethod
    def along(statement: Select[Any], _: Any) -> Select[Any]:  # it reads no inputs
        return statement

    @contextmanager
    def asking(self, private_id: str, *, inputs: Any = None) -> Iterator[Asked]:
        yield Asked(self.check(private_id))


@pytest.fixture
def checker() -> FakeChecker:
    return FakeChecker()


@pytest.fixture
def app(sqlite_settings: Settings, checker: FakeChecker) -> Iterator[Flask]:
    """The IdP with a fake anchor checker (the real one is tested with the simulator)."""
    with idp_app(sqlite_settings, anchors=checker) as application:
        yield application


def path(url: str) -> str:
    return urlsplit(url).path


def claims_of(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    padded = payload + "=" * (-len(payload) % 4)
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return decoded


def register_passkey(rp: Rp, authenticator: SoftAuthenticator,
                     **login: Any) -> tuple[str, dict[str, Any]]:
    """A newcomer signs in (fixture card login) during an interaction and takes the offer."""
    location, _ = rp.authorize()
    assert "passkey_options" in rp.interaction(location)["actions"]
    private_id = rp.login(**login)
    state = rp.interaction(location)
    assert {"passkey_register_options", "passkey_register", "skip"} <= set(state["actions"])
    options = rp.act(state, "passkey_register_options", {}).get_json()["options"]
    credential = authenticator.create(json.dumps(options), origin=ORIGIN)
    answer = rp.act(state, "passkey_register", {"credential": json.loads(credential)})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["redirect_to"] == path(location)
    return private_id, rp.interaction(location)


def sign_in(rp: Rp, authenticator: SoftAuthenticator, **authorize: Any) -> tuple[
        str, Any, str]:
    """A passkey sign-in in a new interaction: (interaction location, verify answer, verifier)."""
    location, verifier = rp.authorize(**authorize)
    state = rp.interaction(location)
    assert state["prompt"] == "login"
    assertion = authenticator.get(json.dumps(state["passkey"]["options"]), origin=ORIGIN)
    return location, rp.act(state, "passkey_verify", {"credential": assertion}), verifier


def log_out(rp: Rp) -> None:
    rp.browser.delete_cookie(COOKIE_NAME, domain="localhost")


def test_register_after_login_then_passkey_login_answers_the_code_and_tokens_follow(
        rp: Rp, checker: FakeChecker) -> None:
    """With nothing left to ask, passkey_verify answers the relying party's URL with the code
    (no round trip through the interaction page); the interaction is then finished."""
    authenticator = SoftAuthenticator()
    private_id, state = register_passkey(rp, authenticator)
    assert "passkey_register" not in state["actions"]  # the offer was answered
    rp.act(state, "consent", {"approve": True, "claims": state["requested"]["claims"]})
    log_out(rp)
    location, answer, verifier = sign_in(rp, authenticator)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["account"]["anchor"]["state"] == "current"
    assert checker.checked == [private_id]
    redirect_to = answer.get_json()["redirect_to"]
    assert redirect_to.startswith("https://rp.example/cb?")
    finished = rp.browser.get(path(location), headers={"Accept": "application/json"})
    assert finished.status_code == 404
    tokens = rp.exchange(query(redirect_to)["code"], verifier).get_json()
    id_token = claims_of(tokens["id_token"])
    assert id_token["acr"] == IAL2
    assert id_token["amr"] == ["hwk", "user", "mfa"]


def test_a_synced_passkey_signs_in_with_amr_swk(rp: Rp, checker: FakeChecker) -> None:
    synced = SoftAuthenticator(backup_eligible=True, backup_state=True, counting=False)
    register_passkey(rp, synced)
    log_out(rp)
    _, answer, _ = sign_in(rp, synced)
    assert answer.get_json()["account"]["amr"] == ["swk", "user", "mfa"]


def test_skip_continues_without_a_passkey(rp: Rp, checker: FakeChecker) -> None:
    location, _ = rp.authorize()
    rp.interaction(location)
    rp.login()
    state = rp.interaction(location)
    assert rp.act(state, "skip", {}).get_json()["redirect_to"] == path(location)
    state = rp.interaction(location)
    assert state["prompt"] == "consent"
    assert "skip" not in state["actions"]


def test_no_offer_to_a_browser_that_was_already_signed_in(rp: Rp) -> None:
    rp.login()
    state = rp.interaction(rp.authorize()[0])
    assert "passkey_register_options" not in state["actions"]


def test_registering_without_a_session_is_refused(rp: Rp) -> None:
    state = rp.interaction(rp.authorize()[0])
    href = state["actions"]["abort"]["href"].replace("/abort", "/passkey/register/options")
    answer = rp.browser.post(href, json={}, headers={"X-CSRF-Token": state["csrf_token"]})
    assert answer.status_code == 401
    assert answer.get_json()["error"] == "login_required"


def test_passkey_of_another_account_is_refused_when_the_flow_expects_a_person(
        rp: Rp, checker: FakeChecker) -> None:
    theirs = SoftAuthenticator()
    register_passkey(rp, theirs)
    log_out(rp)
    rp.login(now=int(time.time()) - 60)  # another person is signed in on this browser
    location, _ = rp.authorize(prompt="login")  # re-authenticate the signed-in person
    state = rp.interaction(location)
    assert state["prompt"] == "login"
    options = rp.act(state, "passkey_options", {}).get_json()["options"]
    answer = rp.act(state, "passkey_verify",
                    {"credential": theirs.get(json.dumps(options), origin=ORIGIN)})
    assert answer.status_code == 403
    assert answer.get_json()["error"] == "passkey_of_another_account"
    assert "different account" in answer.get_json()["error_description"]


def test_a_suspended_anchor_refuses_the_passkey_with_what_to_do(
        rp: Rp, checker: FakeChecker) -> None:
    authenticator = SoftAuthenticator()
    register_passkey(rp, authenticator)
    log_out(rp)
    checker.state = AnchorState.SUSPENDED
    location, answer, _ = sign_in(rp, authenticator)
    assert answer.status_code == 403
    assert answer.get_json()["error"] == "account_suspended"
    assert "再発行" in answer.get_json()["error_description"]  # Japanese by default
    assert COOKIE_NAME not in answer.headers.get("Set-Cookie", "")
    assert rp.interaction(location)["prompt"] == "login"  # no session was made


def test_a_closed_private_id_is_refused_in_english_on_request(
        rp: Rp, checker: FakeChecker) -> None:
    authenticator = SoftAuthenticator()
    register_passkey(rp, authenticator)
    log_out(rp)
    checker.state = AnchorState.CLOSED
    rp.browser.set_cookie("lang", "en", domain="localhost")
    _, answer, _ = sign_in(rp, authenticator)
    assert answer.status_code == 403
    assert "closed" in answer.get_json()["error_description"]


def test_an_anchor_needing_reissue_signs_in_at_ial1_and_names_the_next_step(
        rp: Rp, checker: FakeChecker) -> None:
    authenticator = SoftAuthenticator()
    register_passkey(rp, authenticator)
    log_out(rp)
    checker.state = AnchorState.NEEDS_REISSUE
    location, answer, _ = sign_in(rp, authenticator)
    assert answer.get_json()["redirect_to"] == path(location)  # the re-issue step comes next
    account = answer.get_json()["account"]
    assert account["acr"] == IAL1_PHR
    assert account["anchor"] == {"state": "needs_reissue", "reason": "fake:needs_reissue",
                                 "next_step": "reissue",
                                 "checked_at": account["anchor"]["checked_at"]}
    assert rp.interaction(location)["account"]["acr"] == IAL1_PHR
    # an RP that requires ial2 (acr essential) is not given this session: the RP is told why
    # (with a real anchor the re-issue is offered first: tests/integration/card_login)
    log_out(rp)
    essential = json.dumps({"id_token": {"acr": {"essential": True, "values": [IAL2]}}})
    location, second, _ = sign_in(rp, authenticator, claims=essential)
    assert second.get_json()["account"]["acr"] == IAL1_PHR
    finished = query(rp.interaction(location)["redirect_to"])
    assert finished["error"] == "unmet_authentication_requirements"
    assert finished["iss"] == ISSUER


def test_a_voluntary_acr_above_the_session_still_gets_a_code_with_the_sessions_acr(
        rp: Rp, checker: FakeChecker) -> None:
    authenticator = SoftAuthenticator()
    _, state = register_passkey(rp, authenticator)
    rp.act(state, "consent", {"approve": True, "claims": state["requested"]["claims"]})
    log_out(rp)
    checker.state = AnchorState.NEEDS_REISSUE
    location, _, verifier = sign_in(rp, authenticator, acr_values=IAL2)
    code = query(rp.interaction(location)["redirect_to"])["code"]
    tokens = rp.exchange(code, verifier).get_json()
    assert services_of(rp.app).oidc.keys.verify(tokens["id_token"])["acr"] == IAL1


def test_the_face_brings_options_once_spent_new_ones_are_needed(
        rp: Rp, checker: FakeChecker) -> None:
    """The login's face carries options (a challenge of this browser's); an answer spends them,
    refused or not, and the next answer needs new options from ``passkey_options``."""
    authenticator = SoftAuthenticator()
    register_passkey(rp, authenticator)
    log_out(rp)
    state = rp.interaction(rp.authorize()[0])
    options = state["passkey"]["options"]
    assert options["challenge"]
    assert options["rpId"] == "localhost"
    assert options.get("allowCredentials", []) == []  # nobody signed in: any passkey
    refused = rp.act(state, "passkey_verify", {"credential": {"id": "x"}})
    assert (refused.status_code, refused.get_json()["error"]) == (400, "invalid_passkey_response")
    late = authenticator.get(json.dumps(options), origin=ORIGIN)  # the spent challenge
    answer = rp.act(state, "passkey_verify", {"credential": late})
    assert (answer.status_code, answer.get_json()["error"]) == (400, "passkey_challenge_unknown")
    fresh = rp.act(state, "passkey_options", {}).get_json()["options"]
    assert fresh["challenge"] != options["challenge"]
    signed = authenticator.get(json.dumps(fresh), origin=ORIGIN)
    assert "redirect_to" in rp.act(state, "passkey_verify", {"credential": signed}).get_json()


def test_new_options_replace_the_faces(rp: Rp, checker: FakeChecker) -> None:
    authenticator = SoftAuthenticator()
    register_passkey(rp, authenticator)
    log_out(rp)
    state = rp.interaction(rp.authorize()[0])
    rp.act(state, "passkey_options", {})  # this browser's handle now points at these
    stale = authenticator.get(json.dumps(state["passkey"]["options"]), origin=ORIGIN)
    answer = rp.act(state, "passkey_verify", {"credential": stale})
    assert (answer.status_code, answer.get_json()["error"]) == (
        400, "passkey_challenge_mismatch")


def test_passkey_flow_on_both_database_engines(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"oidc": settings.oidc.model_copy(
        update={"issuer": ISSUER})}), anchors=FakeChecker())
    try:
        client_id, secret = register(app)
        rp = Rp(app, app.test_client(), client_id, secret)
        authenticator = SoftAuthenticator()
        register_passkey(rp, authenticator)
        log_out(rp)
        location, answer, _ = sign_in(rp, authenticator)
        assert answer.status_code == 200
        assert answer.get_json()["redirect_to"] == path(location)  # consent is still asked
        assert rp.interaction(location)["prompt"] == "consent"
    finally:
        services_of(app).engine.dispose()


def test_a_signed_in_persons_face_offers_their_own_passkeys(
        rp: Rp, checker: FakeChecker) -> None:
    """Signing in again (prompt=login) with a session: the face's options name this person's
    passkeys, as ``passkey_options`` does (a step-up cannot switch accounts)."""
    authenticator = SoftAuthenticator()
    register_passkey(rp, authenticator)  # signed in, with one passkey
    state = rp.interaction(rp.authorize(prompt="login")[0])
    assert state["prompt"] == "login"
    allowed = [c["id"] for c in state["passkey"]["options"]["allowCredentials"]]
    (credential,) = authenticator.credentials
    assert allowed == [base64.urlsafe_b64encode(credential).rstrip(b"=").decode()]
    fresh = rp.act(state, "passkey_options", {}).get_json()["options"]
    assert [c["id"] for c in fresh["allowCredentials"]] == allowed
