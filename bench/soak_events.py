"""About a life event a minute: the simulator changes a person's card, ``idp recheck`` must
see it, the person's next logins must meet it, then the account is brought back.

- ``move`` (new address): recheck reports ``needs_reissue`` (``sign_revoked:
  affiliation_changed``); a passkey login comes in at ial1-aal2 and is asked to re-issue; the
  re-issue with the card's new signing certificate gives ial2-aal2 and the new address;
- ``lose-card``: ``suspended`` (``card_revoked:certificate_hold``); the passkey is refused 403
  ``account_suspended`` and the card 403 ``certificate_revoked``; ``found-card``, then the
  next recheck says ``current`` again and the passkey logs in;
- ``renew``: ``suspended`` (``card_revoked:superseded``); a card login with the renewed card
  (J-LIS links it to the old one) is asked to re-issue; after it, ial2-aal2 and the passkey
  logs in.

With the CRL policy the IdP learns of an event when its CRL index passes nextUpdate, so an
event's consequences are checked at the next tick, once ``delay`` seconds (the CRL period and
a margin) have passed since it: each tick runs ``idp recheck`` once, every event waiting for it
claims the change it expects, and any other change is a failure. Events are scripts that
``yield`` where they wait for the next tick. Anything unexpected is a failure of kind
``life_event`` (or of the request that went wrong).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bench.soak_flows import IAL1, Browser, Person, Target, Unexpected
from bench.soak_report import Failure, Tally
from bench.soak_traffic import card_login, check_tokens, passkey_login
from idp.jpki.profile import Purpose
from tests.support.sim import SimCommandError

EVENTS = ("move", "lose-card", "renew")
EXPECTED = {"move": ("needs_reissue", "sign_revoked:affiliation_changed"),
            "lose-card": ("suspended", "card_revoked:certificate_hold"),
            "found-card": ("current", "sign_good"),
            "renew": ("suspended", "card_revoked:superseded")}
ADDRESSES = ("宮城県仙台市青葉区本町3-8-1", "大阪府大阪市北区中之島1-3-20",
             "福岡県福岡市中央区天神1-8-1")


@dataclass
class World:
    """What the driver works with: the IdP, the simulator's CLI and ``idp recheck``."""

    target: Target
    tally: Tally
    sim: Callable[..., Any]  # sim.cli: ``idp sim ARGS --json``
    recheck: Callable[[], dict[str, Any]]  # ``idp recheck --all --json`` on a node's instance
    private_ids: dict[str, str]  # person_id -> private ID
    changes: list[dict[str, str]] = field(default_factory=list)  # this tick's, not yet claimed


def expect_change(world: World, person: Person, event: str) -> None:
    """Claim the change ``event`` must have made in this tick's recheck report."""
    private_id = world.private_ids[person.person_id]
    mine = [c for c in world.changes if c["private_id"] == private_id]
    for change in mine:
        world.changes.remove(change)
    found = [(c["to"], c["reason"]) for c in mine]
    if found != [EXPECTED[event]]:
        world.tally.fail(Failure("life_event", None, f"{event}: recheck reported {found}"))
        raise Unexpected("life_event")


def reissue(browser: Browser, person: Person, location: str) -> None:
    """At the re-issue prompt: answer with the card's new signing certificate, then tokens at
    ial2-aal2."""
    state = browser.interaction(location)
    if state.get("prompt") != "reissue":
        raise browser.missing("life_event", f"prompt {state.get('prompt')}, not reissue", state)
    status = browser.card_request(state, "reissue", person, Purpose.SIGN)
    location = browser.continue_after_card(state, status)
    check_tokens(browser, "token", person, browser.tokens(browser.to_code(location)))


def moved(world: World, person: Person, number: int) -> Iterator[None]:
    address = ADDRESSES[number % len(ADDRESSES)]
    person.sign_serial = world.sim("person", "move", person.person_id,
                                   "--address", address)["sign_serial"]
    yield
    expect_change(world, person, "move")
    browser = Browser(world.target, world.tally)
    state = browser.authorize()  # new options, not the face's: both ways stay under load
    options = browser.act("passkey_options", state, "passkey_options")["options"]
    verified = browser.act("passkey_verify", state, "passkey_verify", {"credential": json.loads(
        person.authenticator.get(json.dumps(options), origin=world.target.origin))})
    if verified["account"]["acr"] != IAL1:
        raise browser.missing("life_event", "a moved person's passkey at ial2", verified)
    reissue(browser, person, verified["redirect_to"])
    info = check_tokens(browser, "token_refresh", person,
                        browser.refresh(str(person.refresh_token)))
    if (info.get("address") or {}).get("formatted") != address:
        raise browser.missing("life_event", "userinfo without the new address", info)


def lost_and_found(world: World, person: Person, number: int) -> Iterator[None]:
    world.sim("person", "lose-card", person.person_id)
    yield
    expect_change(world, person, "lose-card")
    passkey_login(world.target, world.tally, person, refusal="account_suspended")
    card_login(world.target, world.tally, person, refusal="certificate_revoked")
    world.sim("person", "found-card", person.person_id)
    yield
    expect_change(world, person, "found-card")
    passkey_login(world.target, world.tally, person)


def renewed(world: World, person: Person, number: int) -> Iterator[None]:
    shown = world.sim("person", "renew", person.person_id)
    person.sign_serial, person.auth_serial = shown["sign_serial"], shown["auth_serial"]
    yield
    expect_change(world, person, "renew")
    browser = Browser(world.target, world.tally)
    state = browser.authorize()
    status = browser.card_request(state, "card", person, Purpose.AUTH)
    reissue(browser, person, browser.continue_after_card(state, status))
    passkey_login(world.target, world.tally, person)


Script = Callable[[World, Person, int], Iterator[None]]
SCRIPTS: dict[str, tuple[Script, int]] = {  # the script and the ticks it waits
    "move": (moved, 1), "lose-card": (lost_and_found, 2), "renew": (renewed, 1)}


@dataclass
class Running:
    event: str
    person: Person
    script: Iterator[None]
    at: int  # seconds into the run when the event was made


def advance(world: World, running: Running, log: list[str]) -> bool:
    """Run ``running`` to its next wait; False once it has ended (done or failed)."""
    try:
        next(running.script)
        return True
    except StopIteration:
        world.tally.flows[f"life_event:{running.event}"] += 1
        log.append(f"{running.event} at {running.at} s: ok")
    except Unexpected as failed:
        log.append(f"{running.event} at {running.at} s: failed at {failed}")
    except (SimCommandError, subprocess.SubprocessError) as error:  # sim CLI, idp recheck
        world.tally.fail(Failure("life_event", None, f"{running.event}: {type(error).__name__}"),
                         str(error))
        log.append(f"{running.event} at {running.at} s: failed ({type(error).__name__})")
    return False


def drive(world: World, people: list[Person], start_at: float, seconds: float,
          delay: float, events: tuple[str, ...] = EVENTS) -> list[str]:
    """Ticks a minute apart (or ``delay`` after the last event, if longer), the first 30 s in;
    an event starts only when its script can end before the run does."""
    log: list[str] = []
    waiting: list[Running] = []
    queue = list(enumerate(people))
    end, tick, fired = start_at + seconds, start_at + 30, 0.0
    while waiting or queue:
        at = max(tick, fired + delay)
        if at > end - 5:
            break
        time.sleep(max(0.0, at - time.time()))
        if waiting:
            world.changes = list(world.recheck().get("changes", []))
            waiting = [r for r in waiting if advance(world, r, log)]
            for change in world.changes:
                world.tally.fail(Failure("life_event", None, "recheck reported a change no "
                                         f"event made: {change['to']}"), json.dumps(change))
        number, person = queue[0] if queue else (0, None)
        event = events[number % len(events)]
        if person is not None and time.time() + SCRIPTS[event][1] * max(60, delay) + 30 < end:
            queue.pop(0)
            running = Running(event, person, SCRIPTS[event][0](world, person, number),
                              int(time.time() - start_at))
            if advance(world, running, log):
                waiting.append(running)
            fired = time.time()
        elif not waiting:
            break
        tick = at + 60
    log += [f"{r.event} at {r.at} s: not finished when the run ended" for r in waiting]
    return log
