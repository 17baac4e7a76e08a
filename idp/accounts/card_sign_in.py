"""The browser's side of a card request: open one, follow it, and continue into a session.

The card app answers a request on its own channel (``card_answers``); the browser that opened
it learns the outcome (``latest``). After a card login or an onboarding it continues once
(``finish``: the anchor re-checked and the level the evidence earns, ``idp.assurance.evidence``;
the provider then starts the interaction's login session). A re-issue or a consented 4-info
refresh needs no ``continue``: once its answer is accepted, the login session that asked for it
is authenticated again by the card at the new anchor's level (``after_answer``), so the step is
done whether the browser then polls the status or looks at the interaction itself. Each method
is one short unit of work; none is held across the anchor re-check's J-LIS calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from idp import db as dbm
from idp.accounts import card_requests
from idp.accounts import sessions as login_sessions
from idp.accounts.anchor_check import AnchorCheck, AnchorChecker, CertAnswer
from idp.accounts.card_answers import checked_status
from idp.accounts.errors import NotAnsweredError, NotSamePersonError
from idp.accounts.terms import Agreement
from idp.assurance.evidence import Evidence, Level, Method, level_for
from idp.audit import entries as audit
from idp.audit.log import AuditLog
from idp.errors import WrongBrowserError


@dataclass(frozen=True)
class RequestStatus:
    """Where the browser's latest card request of an interaction stands."""

    request_id: str
    purpose: str
    outcome: str | None  # None (pending), accepted, refused
    continued: bool
    error_code: str | None
    error_description: str | None


@dataclass(frozen=True)
class CardSignIn:
    """A card authentication continued: whose, what the anchor re-check found, what it earns."""

    private_id: str
    check: AnchorCheck
    level: Level


# Purposes whose accepted answer finishes the step by itself (``after_answer``): no continue.
FINISHED_BY_ANSWER = frozenset({"reissue", "consent"})


class CardSignIns:
    def __init__(self, sessions: sessionmaker[Session], checker: AnchorChecker,
                 session_lifetime: int, audit: AuditLog | None = None) -> None:
        self._sessions = sessions
        self._checker = checker
        self._lifetime = session_lifetime
        self._audit = audit  # a refused step-up (another person's card)

    def open(self, *, uid: str, browser: str, purpose: str,
             asking: login_sessions.ActiveSession | None = None, consent_text: str | None = None,
             terms: Agreement | None = None, document: dict[str, str] | None = None) -> str:
        """A new card request of interaction ``uid`` bound to ``browser``; its id. ``asking``:
        the login session a re-issue, refresh or signature is for; ``document``: what a
        request of purpose ``sign`` shows and has signed."""
        with dbm.transaction(self._sessions) as db:
            return card_requests.create(
                db, uid=uid, browser=browser, purpose=purpose,
                private_id=asking.private_id if asking else None,
                session_id=asking.id if asking else None, consent_text=consent_text,
                terms=terms, document=document).id

    def latest(self, uid: str, browser: str | None) -> RequestStatus:
        """The browser's latest request of ``uid``; another browser gets none (refused)."""
        with self._sessions() as db:
            row = _bound(db, uid, browser)
            return RequestStatus(row.id, row.purpose, row.outcome, bool(row.continued),
                                 row.error_code, row.error_description)

    def finish(self, uid: str, browser: str | None, *,
               expected_private_id: str | None = None,
               asked: Callable[[], int | None] | None = None) -> CardSignIn:
        """Continue the accepted request once: the anchor re-checked, the level it earns. With
        ``expected_private_id`` (a step-up of a signed-in person) the card must be theirs: the
        request is spent and refused otherwise, and the session stays whose it was. ``asked``:
        the identity level the login asks for (``AnchorChecker.check``)."""
        with self._sessions() as db:
            row = _bound(db, uid, browser)
            request_id, purpose, result = row.id, row.purpose, dict(row.result or {})
        private_id = str(result.get("private_id", ""))
        with dbm.transaction(self._sessions) as db:
            # A signature is no login: it continues into the code only (continue_signature).
            if not private_id or purpose == "sign" or \
                    not card_requests.mark_continued(db, request_id):
                raise NotAnsweredError()
        if expected_private_id is not None and private_id != expected_private_id:
            if self._audit is not None:  # the card was genuine: whose it is, is known
                self._audit.record("login", actor=audit.person(private_id),
                                   target=audit.person(expected_private_id), outcome="refused",
                                   details={"method": ["card"],
                                            "reason": NotSamePersonError.code})
            raise NotSamePersonError("this card belongs to someone else: to raise this sign-in, "
                                     "use the card of the person signed in")
        check, level = self._card_level(private_id, _auth_answer(purpose, result), asked)
        return CardSignIn(private_id, check, level)

    def continue_signature(self, uid: str, browser: str | None) -> None:
        """Continue the browser's accepted signature once (the provider then issues the code
        whose grant carries it: idp.oidc.signing_flow)."""
        with dbm.transaction(self._sessions) as db:
            row = _bound(db, uid, browser)
            if row.purpose != "sign" or not card_requests.mark_continued(db, row.id):
                raise NotAnsweredError()

    def after_answer(self, request_id: str) -> None:
        """After an accepted re-issue or 4-info refresh, the session that asked for it is
        authenticated by the card at the new anchor's level, as a card login would be."""
        with self._sessions() as db:
            row = card_requests.load(db, request_id)
            purpose, private_id, session_id = row.purpose, row.private_id, row.session_id
        if purpose not in FINISHED_BY_ANSWER:
            return
        # The step is finished (``continued``: the browser's status poll goes on to the relying
        # party) only in the transaction that raised the session's level, never before it: a
        # code issued between the two would carry the level from before the re-issue.
        if private_id is None or session_id is None:
            self._finish(request_id)
            return
        try:
            _check, level = self._card_level(private_id, None)
        except Exception:
            self._finish(request_id)  # the browser goes on at the level it had
            raise
        with dbm.transaction(self._sessions) as db:
            login_sessions.reauthenticate(db, session_id, private_id=private_id,
                                          acr=level.acr.value, amr=list(level.amr),
                                          lifetime=self._lifetime)
            card_requests.mark_continued(db, request_id)

    def _finish(self, request_id: str) -> None:
        with dbm.transaction(self._sessions) as db:
            card_requests.mark_continued(db, request_id)

    def _card_level(self, private_id: str, auth: CertAnswer | None,
                    asked: Callable[[], int | None] | None = None) -> tuple[AnchorCheck, Level]:
        """The anchor re-checked now and the level a card authentication earns with it."""
        check = self._checker.check(private_id, auth=auth)
        check.refuse_inactive(method="card")
        if asked is not None:
            check.refuse_unestablished(asked)
        return check, level_for(Evidence(check.proofing, Method.CARD))


def _auth_answer(purpose: str, result: dict[str, Any]) -> CertAnswer | None:
    """A card login's auth certificate was checked when the card answered: not asked twice, and
    weighed as that check found it (unknown under a fail-open policy is not good)."""
    return checked_status(result) if purpose == "login" else None


def _bound(db: Session, uid: str, browser: str | None) -> Any:
    row = card_requests.latest_for(db, uid, browser) if browser else None
    if row is None:
        raise WrongBrowserError()
    return row
