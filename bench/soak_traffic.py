"""The soak's flows and the closed loop each client process runs until its deadline.

A client onboards its share of the people before the start (setup, not measured), then, until
the deadline, runs one flow after another as fast as the IdP answers: a passkey login, a refresh
of someone's tokens, or a card login, in proportions 5 : 3 : 2, and at even intervals the
onboarding of one of its newcomers (an account, a passkey and a grant made during the run).
Every flow checks what it gets: the level (ial2-aal2), the pairwise ``sub`` fixed at
onboarding, userinfo's ``sub``.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.soak_flows import IAL2, Browser, Person, Target, Tokens, Unexpected
from bench.soak_report import Tally, failure_list
from idp.jpki.profile import Purpose

MIX = (("passkey_login", 5), ("refresh", 3), ("card_login", 2))


def check_tokens(browser: Browser, kind: str, person: Person, tokens: Tokens, *,
                 acr: str = IAL2) -> dict[str, Any]:
    """The tokens are the person's (same pairwise sub) at the level expected; userinfo too,
    which is answered."""
    claims = tokens.id_token
    if person.sub is not None and claims.get("sub") != person.sub:
        raise browser.missing(kind, "sub changed", claims)
    if claims.get("acr") != acr:
        raise browser.missing(kind, f"acr {claims.get('acr')}", claims)
    info = browser.userinfo(tokens)
    if info.get("sub") != claims.get("sub"):
        raise browser.missing("userinfo", "sub differs from the ID token's", info)
    person.sub, person.refresh_token = str(claims["sub"]), tokens.refresh_token
    browser.tally.flows[f"tokens from {kind}"] += 1
    return info


def onboard(target: Target, tally: Tally, person: Person) -> None:
    """Terms, the onboarding card request (signing key), the passkey offer, consent, tokens."""
    from tests.support.webauthn_authenticator import SoftAuthenticator

    browser = Browser(target, tally)
    state = browser.authorize()
    version = state.get("actions", {}).get("agree", {}).get("version")
    browser.act("terms_agree", state, "agree", {"agree": True, "version": version})
    status = browser.card_request(state, "onboard", person, Purpose.SIGN)
    location = browser.continue_after_card(state, status)
    state = browser.interaction(location)
    options = browser.act("passkey_register_options", state, "passkey_register_options")
    authenticator = SoftAuthenticator()
    created = authenticator.create(json.dumps(options["options"]), origin=target.origin)
    browser.act("passkey_register", state, "passkey_register",
                {"credential": json.loads(created)})
    person.authenticator = authenticator
    check_tokens(browser, "token", person, browser.tokens(browser.to_code(location)))
    tally.flows["onboarding"] += 1


def passkey_login(target: Target, tally: Tally, person: Person, *,
                  refusal: str | None = None) -> dict[str, Any]:
    """A passkey sign-in in a new browser; its ``account`` (or the expected refusal)."""
    browser = Browser(target, tally)
    state = browser.authorize()  # its face brings the passkey options, as a page's does
    if "passkey" not in state:
        raise browser.missing("passkey_login", "no passkey options in the face", state)
    assertion = person.authenticator.get(json.dumps(state["passkey"]["options"]),
                                         origin=target.origin)
    verified = browser.act("passkey_verify", state, "passkey_verify",
                           {"credential": json.loads(assertion)}, refusal=refusal)
    if refusal is not None:
        return verified  # type: ignore[no-any-return]
    account: dict[str, Any] = verified["account"]
    if account["acr"] == IAL2:
        check_tokens(browser, "token", person,
                     browser.tokens(browser.to_code(verified["redirect_to"])))
        tally.flows["passkey_login"] += 1
    return account


def card_login(target: Target, tally: Tally, person: Person, *,
               refusal: str | None = None) -> None:
    browser = Browser(target, tally)
    state = browser.authorize()
    status = browser.card_request(state, "card", person, Purpose.AUTH, refusal=refusal)
    if refusal is not None:
        return
    location = browser.continue_after_card(state, status)
    check_tokens(browser, "token", person, browser.tokens(browser.to_code(location)))
    tally.flows["card_login"] += 1


def refresh(target: Target, tally: Tally, person: Person) -> None:
    browser = Browser(target, tally)
    assert person.refresh_token is not None
    check_tokens(browser, "token_refresh", person, browser.refresh(person.refresh_token))
    tally.flows["refresh"] += 1


@dataclass
class Plan:
    """One client process's share."""

    number: int
    target: Target
    seeds: list[Person]  # onboarded before the start
    newcomers: list[Person]  # onboarded during the run, at even intervals
    start_at: float  # epoch seconds
    seconds: float


@dataclass
class Outcome:
    tally: Tally
    people: list[Person]  # everyone this client onboarded, with what the checks need
    newcomers_onboarded: int = 0
    setup_seconds: float = 0.0
    flows: list[str] = field(default_factory=list)


def run_client(plan: Plan, start: Callable[[], float] | None = None) -> Outcome:
    """The closed loop: setup, the start (``start()`` answers it once every client is ready,
    else ``plan.start_at``), flows until the deadline (each request bounded by its timeout),
    then what was made, for the checks."""
    setup, tally, began = Tally(), Tally(), time.time()
    for person in plan.seeds:
        try:
            onboard(plan.target, setup, person)
        except Unexpected as failed:  # a failure here stops the benchmark
            raise RuntimeError(f"setup failed at {failed}: "
                               + failure_list(setup.failures, setup.examples)) from failed
    outcome = Outcome(tally, list(plan.seeds), setup_seconds=time.time() - began)
    if start is not None:
        plan.start_at = start()
    rng, turn = random.Random(plan.number), 0
    deadline = plan.start_at + plan.seconds
    interval = plan.seconds / max(1, len(plan.newcomers))
    pending = list(plan.newcomers)
    time.sleep(max(0.0, plan.start_at - time.time()))
    while time.time() < deadline:
        if pending and time.time() >= plan.start_at + interval * (len(plan.newcomers)
                                                                   - len(pending) + 0.5):
            person = pending.pop(0)
            try:
                onboard(plan.target, tally, person)
                outcome.people.append(person)
                outcome.newcomers_onboarded += 1
            except Unexpected:
                pass
            continue
        flow = rng.choices([name for name, _ in MIX], [w for _, w in MIX])[0]
        person = outcome.people[turn % len(outcome.people)]
        turn += 1
        with contextlib.suppress(Unexpected):  # recorded; the loop goes on
            {"passkey_login": passkey_login, "refresh": refresh,
             "card_login": card_login}[flow](plan.target, tally, person)
    for person in outcome.people:
        person.credential = credential_of(person)
        person.authenticator = None  # keys stay in this process
    return outcome


def credential_of(person: Person) -> dict[str, Any] | None:
    """The passkey as the checks compare it with the database: id and sign count."""
    if person.authenticator is None:
        return None
    (credential,) = person.authenticator.credentials.values()
    return {"id": credential.credential_id.hex(), "sign_count": credential.sign_count}
