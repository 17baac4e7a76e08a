"""A passkey sign-in's verify request writes in one transaction (issue 18), with the real anchor
re-check (CRLs of the test PKI, trust policy ``method = "crl"``), on SQLite and PostgreSQL; and
whatever refuses it on the way still commits what separate transactions committed before: the
spent challenge, the re-check's result, the J-LIS counts (once) and their audit entries."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from idp import db
from idp.accounts.models import LoginSession, PrivateId
from idp.app import services_of
from idp.audit.entries import Entry
from idp.audit.verify import verify_chain
from idp.metering.models import MeteredChecks
from idp.oidc.errors import InteractionNotFoundError
from idp.oidc.flow import Provider
from idp.passkeys.models import Passkey
from idp.passkeys.service import PasskeyService, VerifiedSignIn
from idp.settings import RevocationPolicy, TrustSettings
from tests.support.jlis_outage import ORIGIN, People, Person
from tests.support.jlis_site import idp_over_jlis
from tests.support.transactions import statements
from tests.unit.oidc.conftest import Rp


@dataclass
class Site:
    app: Flask
    people: People

    def count(self, statement: Any) -> int:
        with services_of(self.app).sessions() as session:
            return int(session.execute(statement).scalar_one() or 0)

    def challenges(self) -> int:
        return self.count(text("SELECT count(*) FROM passkey_challenges"))

    def metered(self) -> int:
        return self.count(select(func.sum(MeteredChecks.count)))

    def sessions_of(self, person: Person) -> int:
        return self.count(select(func.count()).select_from(LoginSession)
                          .where(LoginSession.private_id == person.private_id))

    def sign_count(self, person: Person) -> int:
        return self.count(select(func.max(Passkey.sign_count))
                          .where(Passkey.private_id == person.private_id))

    def state(self, person: Person) -> str:
        with services_of(self.app).sessions() as session:
            return session.get_one(PrivateId, person.private_id).state

    def audited_since(self, head: tuple[int, str]) -> list[Entry]:
        """The audit entries since ``head``, the chain from it checked."""
        found = services_of(self.app).audit.entries(since=head[0] + 1, limit=None)
        verify_chain(found, after=head)
        return found


@pytest.fixture
def site(tmp_path: Path, database_url: str) -> Iterator[Site]:
    crl = RevocationPolicy(method="crl")
    with idp_over_jlis(tmp_path, database_url,
                       trust=[TrustSettings(sign=crl, auth=crl, policy_check_seconds=0)]) as idp:
        (app,) = idp.apps
        services_of(app).trust_policy.current()
        found = Site(app, idp.people)
        sign_in(found, idp.people.holder)  # the CRLs' first refresh (from J-LIS, audited) made
        yield found


def sign_in(site: Site, person: Person, *, ran: list[str] | None = None,
            **assertion: Any) -> tuple[Any, dict[str, int]]:
    """A passkey sign-in to a new interaction; the verify request's answer and the transactions
    it ended (``assertion``: how the authenticator answers, e.g. to another challenge; ``ran``
    given: filled with the statements it ran, ``tests.support.transactions.statements``)."""
    rp = Rp.registered(site.app)
    state = rp.interaction(rp.authorize()[0])
    credential = person.authenticator.get(json.dumps(state["passkey"]["options"]),
                                          origin=ORIGIN, **assertion)
    with statements(services_of(site.app).engine) as traced:  # as counting() counts them
        answer = rp.act(state, "passkey_verify", {"credential": credential})
    if ran is not None:
        ran.extend(traced)
    return answer, dict(Counter(word.lower() for word in map(_first_word, traced)
                                if word in ("COMMIT", "ROLLBACK")))


def _first_word(statement: str) -> str:
    return statement.split(None, 1)[0].upper() if statement.strip() else ""


def summary(entries: list[Entry]) -> list[tuple[str, str, str]]:
    return [(e.action, e.actor, e.outcome) for e in entries]


def test_a_passkey_login_is_one_transaction_with_its_check_and_both_entries(site: Site) -> None:
    holder = site.people.holder
    head, metered, count = services_of(site.app).audit.head(), site.metered(), \
        site.sign_count(holder)
    answer, ended = sign_in(site, holder)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["account"]["anchor"]["state"] == "current"
    assert ended == {"commit": 1}  # before: three (sign-in, re-check, login)
    assert site.challenges() == 0
    assert site.sign_count(holder) > count
    assert site.metered() == metered + 2  # the anchor's and the auth certificate's CRL look-ups
    assert site.sessions_of(holder) == 2  # this one and the warm-up's
    assert summary(site.audited_since(head)) == [
        ("anchor.checked", f"person:{holder.private_id}", "current"),
        ("login", f"person:{holder.private_id}", "ok")]


def test_a_refusal_by_the_check_commits_the_sign_in_and_the_check_once(site: Site) -> None:
    lost = site.people.newly_lost  # the card reported lost since the last re-check
    head, metered, count = services_of(site.app).audit.head(), site.metered(), \
        site.sign_count(lost)
    answer, ended = sign_in(site, lost)
    assert (answer.status_code, answer.get_json()["error"]) == (403, "account_suspended")
    assert ended == {"commit": 1}
    assert site.challenges() == 0
    assert site.sign_count(lost) > count
    assert site.state(lost) == "suspended"  # by the check
    assert site.metered() == metered + 2  # counted once, in the committed transaction
    assert site.sessions_of(lost) == 0
    assert summary(site.audited_since(head)) == [
        ("anchor.checked", f"person:{lost.private_id}", "suspended"),
        ("login", f"person:{lost.private_id}", "refused")]


def test_a_refused_assertion_spends_its_challenge_and_is_audited(site: Site) -> None:
    holder = site.people.holder
    head, metered = services_of(site.app).audit.head(), site.metered()
    answer, ended = sign_in(site, holder, challenge=os.urandom(32))  # another challenge's
    assert (answer.status_code, answer.get_json()["error"]) == (400, "passkey_challenge_mismatch")
    assert ended.get("commit") == 2  # the challenge with its entry, the throttle's count
    assert site.challenges() == 0  # spent: the same answer cannot be tried again
    assert site.metered() == metered  # no one was asked
    entries = site.audited_since(head)
    assert summary(entries) == [("login", "anonymous", "refused")]
    assert entries[0].details == {"method": ["passkey"], "reason": "passkey_challenge_mismatch"}


def after_verifying(monkeypatch: pytest.MonkeyPatch, then: Callable[[], None]) -> None:
    """``then()`` runs between the verified answer and the transaction that records it."""
    verify = PasskeyService.verify_authentication

    def verified(self: PasskeyService, **kwargs: Any) -> VerifiedSignIn:
        found = verify(self, **kwargs)
        then()
        return found

    monkeypatch.setattr(PasskeyService, "verify_authentication", verified)


def test_a_challenge_another_request_took_meanwhile_refuses_but_keeps_the_check(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    holder = site.people.holder

    def taken() -> None:  # the other answer to the same challenge won the DELETE
        with db.transaction(services_of(site.app).sessions) as session:
            session.execute(text("DELETE FROM passkey_challenges"))

    after_verifying(monkeypatch, taken)
    head, metered, count = services_of(site.app).audit.head(), site.metered(), \
        site.sign_count(holder)
    answer, _ = sign_in(site, holder)
    assert (answer.status_code, answer.get_json()["error"]) == (400, "passkey_challenge_unknown")
    assert site.sign_count(holder) == count
    assert site.sessions_of(holder) == 1
    assert site.metered() == metered + 2
    assert summary(site.audited_since(head)) == [
        ("anchor.checked", f"person:{holder.private_id}", "current")]


def test_an_interaction_that_ended_meanwhile_refuses_but_keeps_the_sign_in(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    holder = site.people.holder

    def ended(*_: Any, **__: Any) -> Any:
        raise InteractionNotFoundError()

    monkeypatch.setattr(Provider, "log_in", ended)
    head, metered, count = services_of(site.app).audit.head(), site.metered(), \
        site.sign_count(holder)
    answer, transactions = sign_in(site, holder)
    assert answer.status_code == InteractionNotFoundError.status
    assert transactions == {"commit": 1}
    assert site.challenges() == 0
    assert site.sign_count(holder) > count
    assert site.metered() == metered + 2
    assert site.sessions_of(holder) == 1
    assert summary(site.audited_since(head)) == [
        ("anchor.checked", f"person:{holder.private_id}", "current")]


def _audit(statement: str) -> bool:
    return "audit_head" in statement or "audit_log" in statement


def committed(ran: list[str]) -> list[list[str]]:
    """The statements of each transaction that committed (BEGIN to COMMIT), in order."""
    found: list[list[str]] = []
    current: list[str] | None = None
    for statement in ran:
        word = _first_word(statement)
        if word == "BEGIN":
            current = []
        elif word in ("COMMIT", "ROLLBACK"):
            if word == "COMMIT" and current is not None:
                found.append(current)
            current = None
        elif current is not None:
            current.append(statement)
    return found


@pytest.mark.parametrize(("who", "status", "outcomes"), [
    ("holder", 200, ["current", "ok"]),
    ("newly_lost", 403, ["suspended", "refused"]),  # refused by the check: kept, committed
])
def test_the_audit_entries_are_the_last_writes_before_the_commit(
        site: Site, who: str, status: int, outcomes: list[str]) -> None:
    """The audit head row is locked by the first append until the commit: the entries (the
    re-check's, a refusal's, the login's) are appended after every other write of the verify
    transaction, in their order, so its lock order is rows then head, as everywhere else."""
    person = getattr(site.people, who)
    head, ran = services_of(site.app).audit.head(), []
    answer, _ = sign_in(site, person, ran=ran)
    assert answer.status_code == status
    verifying = [t for t in committed(ran) if any("DELETE FROM passkey_challenges" in s
                                                  for s in t)]
    assert len(verifying) == 1
    statements_ = verifying[0]
    first = next(i for i, statement in enumerate(statements_) if _audit(statement))
    assert first > 0
    assert all(_audit(statement) for statement in statements_[first:])
    # Both entries: on SQLite three statements each, on PostgreSQL one executemany (one round
    # trip, pipelined) of the one-statement append.
    postgres = services_of(site.app).engine.dialect.name == "postgresql"
    assert len(statements_) - first == (1 if postgres else 6)
    for transaction in committed(ran):  # no other transaction of the request appends first
        audited = [_audit(statement) for statement in transaction]
        assert audited == sorted(audited)
    entries = site.audited_since(head)  # the chain from the head checked
    assert [(e.action, e.outcome) for e in entries] == list(zip(
        ["anchor.checked", "login"], outcomes, strict=True))
    verify_chain(services_of(site.app).audit.scan())  # and the whole log (idp audit verify)


@pytest.mark.parametrize(("who", "status", "state"), [
    ("holder", 200, "active"),
    ("newly_lost", 403, "suspended"),  # its inputs (the live anchor) read with the passkey
])
def test_the_check_reads_its_inputs_with_the_passkey(site: Site, who: str, status: int,
                                                     state: str) -> None:
    """The anchor re-check's inputs (the person's state and lock, the live anchor, the newest
    auth certificate) come with the passkey's row, in the statement that reads the challenge
    (``AnchorChecker.along``): no read of their own before the transaction (issue 18)."""
    person, ran = getattr(site.people, who), []
    answer, _ = sign_in(site, person, ran=ran)
    assert answer.status_code == status, answer.get_json()
    anchor_reads = [s for s in ran if "FROM anchors" in s or "JOIN anchors" in s]
    assert len(anchor_reads) == 1, anchor_reads
    assert "FROM passkey_challenges" in anchor_reads[0]
    assert site.state(person) == state
