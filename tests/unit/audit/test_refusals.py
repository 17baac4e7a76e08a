"""Every refusal is audited, once: the token endpoint's (invalid_client, invalid_grant and the
rest), a sign-in refused for the private ID's state (closed, suspended, locked) by passkey or
card, a step-up with another person's card, a declined consent. Never with a secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from idp import db
from idp.accounts.anchor_check import AnchorChecker
from idp.accounts.models import AccountLock, PrivateId
from idp.app import services_of
from idp.audit.entries import Entry
from idp.audit.log import AuditLog
from idp.audit.models import AuditHead
from idp.audit.verify import verify_chain
from idp.errors import AccountLockedError, AccountNotActiveError, IdpError
from idp.settings import Settings
from tests.support.webauthn_authenticator import SoftAuthenticator
from tests.unit.audit.support import ORIGIN
from tests.unit.oidc.conftest import REDIRECT, Rp, idp_app, pkce
from tests.unit.web.test_passkey_flow import FakeChecker, log_out, register_passkey, sign_in


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    with idp_app(settings, anchors=FakeChecker()) as application:
        yield application


@pytest.fixture
def rp(app: Flask) -> Rp:
    return Rp.registered(app)


def _new(app: Flask, since: int, action: str) -> list[Entry]:
    """The entries of ``action`` written after seq ``since``."""
    return [e for e in services_of(app).audit.entries(since=since + 1, limit=None)
            if e.action == action]


def _head(app: Flask) -> int:
    return services_of(app).audit.head()[0]


def _everything(app: Flask) -> str:
    return "\n".join(json.dumps(e.to_json()) for e in services_of(app).audit.scan())


REFUSED_TOKEN_REQUESTS: dict[str, tuple[dict[str, str], str]] = {
    "unknown code": ({"grant_type": "authorization_code", "code": "no-such-code",
                      "code_verifier": "v" * 43, "redirect_uri": REDIRECT}, "invalid_grant"),
    "no code": ({"grant_type": "authorization_code"}, "invalid_request"),
    "unknown refresh token": ({"grant_type": "refresh_token", "refresh_token": "r" * 43},
                              "invalid_grant"),
    "unsupported grant": ({"grant_type": "password", "username": "u",
                           "password": "hunter2-correct-horse"},
                          "unsupported_grant_type"),
}


@pytest.mark.parametrize("case", sorted(REFUSED_TOKEN_REQUESTS))
def test_each_refused_token_request_is_one_entry(app: Flask, rp: Rp, case: str) -> None:
    form, error = REFUSED_TOKEN_REQUESTS[case]
    before = _head(app)
    answer = rp.token(**form)
    assert answer.get_json()["error"] == error
    [entry] = _new(app, before, "token.refused")
    assert (entry.actor, entry.outcome, entry.details["error"]) == (
        f"rp:{rp.client_id}", "refused", error)
    assert entry.details["reason"] == answer.get_json()["error_description"]
    assert _head(app) == before + 1  # that entry only
    for name in ("code", "code_verifier", "refresh_token", "password"):
        if name in form:  # what was presented as a credential: never recorded
            assert form[name] not in _everything(app)


def test_a_refused_code_names_the_grant_and_person_and_a_replay_is_one_entry_too(
        app: Flask, rp: Rp) -> None:
    private_id = rp.login()
    code, verifier = rp.code()
    before = _head(app)
    assert rp.exchange(code, pkce()[0]).status_code == 400  # wrong verifier: code spent
    assert rp.exchange(code, verifier).status_code == 400  # replay: its tokens revoked
    first, second = _new(app, before, "token.refused")
    assert (first.target, first.details["grant_type"]) == (
        f"person:{private_id}", "authorization_code")
    assert first.details["grant"]
    assert "already used" in second.details["reason"]
    assert _head(app) == before + 2
    assert code not in _everything(app)


def test_a_client_that_fails_to_authenticate_is_one_anonymous_entry(app: Flask, rp: Rp) -> None:
    before = _head(app)
    wrong = "wrong-secret-" + "x" * 30
    answer = rp.browser.post("/token", data={"grant_type": "authorization_code", "code": "c",
                                             "code_verifier": "v" * 43},
                             auth=(rp.client_id, wrong))
    assert answer.status_code == 401
    [entry] = _new(app, before, "token.refused")
    assert (entry.actor, entry.target, entry.details["client_id"], entry.details["error"]) == (
        "anonymous", None, rp.client_id, "invalid_client")
    assert _head(app) == before + 1
    assert wrong not in _everything(app)
    assert rp.secret is not None
    assert rp.secret not in _everything(app)


@pytest.mark.parametrize("fault", ["seq taken", "no head"])
def test_tokens_issued_and_their_entry_are_one_unit(app: Flask, rp: Rp, fault: str) -> None:
    """The token's entry is written with the exchange (in its transaction on SQLite, by its one
    statement on PostgreSQL): when it cannot be written, nothing of the exchange is kept (the
    code is not spent, no token stored). The faults are the database's own: the head's next
    seq already taken by an entry, or the head's row gone."""
    rp.login()
    code, verifier = rp.code()
    audit = services_of(app).audit
    with db.transaction(services_of(app).sessions) as session:
        head = session.get_one(AuditHead, 1)
        seq, hash_ = head.seq, head.hash
        if fault == "seq taken":
            head.seq = seq - 1
        else:
            session.delete(head)
    assert rp.exchange(code, verifier).status_code == 500
    with db.transaction(services_of(app).sessions) as session:
        session.merge(AuditHead(id=1, seq=seq, hash=hash_))
    assert _head(app) == seq
    assert "access_token" in rp.exchange(code, verifier).get_json()  # the code was not spent
    assert [e.action for e in audit.entries(since=seq + 1)] == ["token.issued"]
    verify_chain(audit.entries(limit=None))


def test_a_passkey_sign_in_to_a_closed_private_id_is_one_refused_login(
        app: Flask, rp: Rp) -> None:
    authenticator = SoftAuthenticator()
    private_id, _ = register_passkey(rp, authenticator)
    log_out(rp)
    with services_of(app).sessions() as db, db.begin():
        db.execute(update(PrivateId).where(PrivateId.id == private_id).values(state="closed"))
    before = _head(app)
    _location, answer, _verifier = sign_in(rp, authenticator)
    assert answer.status_code == 403
    assert answer.get_json()["error"] == "account_closed"
    [entry] = _new(app, before, "login")
    assert (entry.outcome, entry.details["reason"], entry.details["method"]) == (
        "refused", "account_closed", ["passkey"])


def test_declining_consent_is_one_entry(app: Flask, rp: Rp) -> None:
    location, _ = rp.authorize()
    private_id = rp.login()
    state = rp.interaction(location)
    assert state["prompt"] == "consent"
    before = _head(app)
    answer = rp.act(state, "consent", {"approve": False, "claims": []})
    assert answer.status_code == 200
    assert "access_denied" in answer.get_json()["redirect_to"]
    [entry] = _new(app, before, "consent.declined")
    assert (entry.actor, entry.target, entry.outcome) == (
        f"person:{private_id}", f"rp:{rp.client_id}", "refused")
    assert entry.details["asked"] == state["requested"]["claims"]
    assert _head(app) == before + 1


# -- the anchor checker: a sign-in refused for the private ID's state -------------------------
def _account(sessions: sessionmaker[Session], state: str, *, locked: bool = False) -> str:
    with sessions() as db, db.begin():
        person = PrivateId(state=state)
        db.add(person)
        db.flush()
        if locked:
            db.add(AccountLock(private_id=person.id, reason="fraud report", locked_by="admin",
                               locked_at=int(datetime.now(UTC).timestamp())))
        return person.id


@pytest.mark.parametrize(("state", "locked", "refusal"), [
    ("closed", False, "account_closed"), ("active", True, "account_locked")])
def test_a_closed_or_locked_private_id_refused_at_the_anchor_check_is_one_entry(
        sessions: sessionmaker[Session], state: str, locked: bool, refusal: str) -> None:
    """Closed and locked private IDs are refused before anyone is asked (no anchor.checked
    entry): the refusal is the one entry."""
    log = AuditLog(sessions, origin=ORIGIN)
    checker = AnchorChecker(sessions, trust=_NoTrust(), audit=log)
    private_id = _account(sessions, state, locked=locked)
    check = checker.check(private_id)
    with pytest.raises(AccountNotActiveError) as refused:
        check.refuse_inactive(method="card")
    assert refused.value.code == refusal
    assert isinstance(refused.value, AccountLockedError) is locked
    [entry] = log.entries(limit=None)
    assert (entry.action, entry.actor, entry.outcome) == (
        "login", f"person:{private_id}", "refused")
    assert entry.details == {"reason": refusal, "anchor": check.state.value,
                             "method": ["card"]}
    assert AnchorChecker(sessions, trust=_NoTrust()).check(private_id).on_refused is None


class _NoTrust:
    """A trust port never asked: closed and locked private IDs are refused before."""

    def __getattr__(self, name: str) -> Any:
        raise IdpError(f"the trust port was asked ({name})")
