"""Passkeys of a private ID: register, sign in, list, rename, remove — with the account rules.

Each operation runs in its own unit of work, but a sign-in's record. A challenge is single-use even
when the answer is refused (a refused answer cannot be retried against the same challenge):
registration consumes it in a transaction of its own before verifying; a sign-in reads it,
verifies the answer writing nothing, and takes it in the caller's transaction that records the
sign-in (``signed_in``: with the passkey's use, the anchor re-check's result and the login, one
transaction per passkey login, ``idp.web.passkeys``); a refused answer spends it at once, in a
transaction with its audit entry.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Engine, Select, bindparam, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from idp import db as dbm
from idp.audit import entries
from idp.audit.log import AuditLog
from idp.db import Base, transaction
from idp.errors import AccountNotActiveError, account_not_active
from idp.passkeys import ceremonies, challenge_store, directory
from idp.passkeys.challenge_store import SqlChallengeStore, pending_of
from idp.passkeys.challenges import ChallengeStore, consume, usable
from idp.passkeys.errors import (
    ChallengeExpired,
    ChallengeUnknown,
    InvalidPasskeyResponse,
    LastPasskeyNeedsCardLogin,
    PasskeyAlreadyRegistered,
    PasskeyError,
    PasskeyNotFound,
    PasskeyOfAnotherAccount,
    UnknownPasskey,
)
from idp.passkeys.models import Passkey, PasskeyUser
from idp.passkeys.naming import default_name, valid_name
from idp.passkeys.summaries import PasskeyLogin, PasskeySummary, Started, summarise
from idp.passkeys.values import Anchor, Ceremony, ExistingCredential, PendingChallenge, StoredKey
from idp.prepared import Prepared, defer_on, read_one
from idp.settings import WebauthnSettings


def _utcnow() -> datetime:
    return datetime.now(UTC)


class PasskeyService:
    """Built once from the settings; every method opens its own transactions."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: WebauthnSettings,
        *,
        clock: Callable[[], datetime] = _utcnow,
        challenge_store: Callable[[Session], ChallengeStore] | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self._sessions = sessions
        # Reads that stand alone, in autocommit (idp.db): a step-up's passkeys, the challenge of
        # an unreadable answer. A sign-in's options save their challenge with no session at all
        # (challenge_store.save_alone).
        self._autocommit = dbm.single_statement_sessions(sessions)
        self._engine: Engine = sessions.kw["bind"]  # a sign-in's one read (idp.prepared.read_one)
        self._audit = audit  # refused sign-ins (a login's success is Provider.log_in's)
        self._settings = settings
        self._clock = clock
        self._store = challenge_store or (lambda session: SqlChallengeStore(session, clock))
        self._timeout = timedelta(seconds=settings.challenge_timeout_seconds)

    # --- registration (§7.1) -------------------------------------------------------------------

    def begin_registration(self, *, private_id: str, display_name: str, anchor: Anchor) -> Started:
        """Options for a new passkey of ``private_id``, enrolled under its current ``anchor``."""
        with transaction(self._sessions) as session:
            self._require_active(session, private_id)
            existing = [ExistingCredential(p.credential_id, tuple(p.transports))
                        for p in self._passkeys_of(session, private_id)]
            options, pending = ceremonies.registration_options(
                private_id, self._user_handle(session, private_id), display_name, existing,
                rp_id=self._settings.rp_id, rp_name=self._settings.rp_name, anchor=anchor,
                now=self._clock(), timeout=self._timeout,
            )
            return Started(options_json=options, handle=self._store(session).save(pending))

    def finish_registration(
        self, *, handle: str, response_json: str, name: str | None = None
    ) -> PasskeySummary:
        """Verify the browser's answer and keep the passkey; ``name`` defaults from the AAGUID."""
        pending = self._consume(handle, Ceremony.REGISTRATION)
        if pending.private_id is None or pending.anchor is None:  # not made by begin_registration
            raise ChallengeUnknown()
        verified = ceremonies.verify_registration(
            response_json, expected_challenge=pending.challenge,
            expected_origin=self._settings.origins, expected_rp_id=self._settings.rp_id,
        )
        with transaction(self._sessions) as session:
            self._require_active(session, pending.private_id)
            if self._by_credential_id(session, verified.credential_id) is not None:
                raise PasskeyAlreadyRegistered()
            now = self._clock()
            passkey = Passkey(
                private_id=pending.private_id, credential_id=verified.credential_id,
                public_key=verified.public_key, sign_count=verified.sign_count,
                transports=list(verified.transports), aaguid=verified.aaguid,
                backup_eligible=verified.backup_eligible, backup_state=verified.backup_state,
                device_type=verified.device_type.value,
                name=valid_name(name) if name is not None else default_name(verified, now),
                user_handle=self._user_handle(session, pending.private_id),
                anchor_issuer=pending.anchor.issuer, anchor_serial=pending.anchor.serial,
                created_at=now,
            )
            session.add(passkey)
            session.flush()
            return summarise(passkey)

    # --- authentication (§7.2) -----------------------------------------------------------------

    def begin_authentication(self, *, expected_private_id: str | None = None) -> Started:
        """Options for signing in: discoverable (any passkey), or one person's when expected."""
        allow = None
        if expected_private_id is not None:
            with self._autocommit() as session:
                allow = [ExistingCredential(p.credential_id, tuple(p.transports))
                         for p in self._passkeys_of(session, expected_private_id)]
        options, pending = ceremonies.authentication_options(
            rp_id=self._settings.rp_id, now=self._clock(), timeout=self._timeout,
            allow_credentials=allow, private_id=expected_private_id,
        )
        return Started(options_json=options,
                       handle=challenge_store.save_alone(self._engine, pending, self._clock))

    def finish_authentication(self, *, handle: str, response_json: str) -> PasskeyLogin:
        """Verify a sign-in and record it in a transaction of its own: the challenge spent, the
        passkey's sign count, backup state and last use updated."""
        verified = self.verify_authentication(handle=handle, response_json=response_json)
        with transaction(self._sessions) as session:
            return self.signed_in(session, verified)

    def verify_authentication(self, *, handle: str, response_json: str,
                              along: Along | None = None) -> VerifiedSignIn:
        """Verify a sign-in's answer, writing nothing: the caller records it (:meth:`signed_in`)
        in its own transaction. A refused answer spends its challenge here, audited, and raises:
        it cannot be tried again. ``along``: what the caller reads of the passkey's person in
        the same statement as the passkey (``VerifiedSignIn.along``)."""
        try:
            return self._verified(handle, response_json, along)
        except (ChallengeUnknown, ChallengeExpired):
            raise  # nothing verified: no attempt to spend or to count
        except (PasskeyError, AccountNotActiveError) as refused:
            with transaction(self._sessions) as session:
                self._store(session).take(handle)
                if self._audit is not None:
                    self._audit.record("login", actor=entries.anonymous(), outcome="refused",
                                       details={"method": ["passkey"], "reason": refused.code},
                                       db=session)
            raise

    def signed_in(self, session: Session, verified: VerifiedSignIn) -> PasskeyLogin:
        """Record a verified sign-in in ``session``'s transaction: its challenge taken (by one
        ``DELETE ... RETURNING``: of two answers to one challenge only one gets it; the other is
        refused, ChallengeUnknown) and the passkey's use."""
        if self._store(session).take(verified.handle) is None:
            raise ChallengeUnknown()
        passkey, used = verified.passkey, self._clock()
        defer_on(session.connection(), _USED, {  # with the transaction's next statement
            "b_id": passkey.id, "sign_count": verified.sign_count,
            "backup_state": verified.backup_state, "last_used_at": used})
        return PasskeyLogin(
            private_id=passkey.private_id,
            passkey=replace(summarise(passkey), backup_state=verified.backup_state,
                            last_used_at=used),
            user_verified=verified.user_verified,
        )

    def _verified(self, handle: str, response_json: str,
                  along: Along | None = None) -> VerifiedSignIn:
        try:
            credential_id = ceremonies.assertion_credential_id(response_json)
        except InvalidPasskeyResponse:
            with self._autocommit() as session:  # a stale page hears of its challenge first
                self._usable(self._store(session).read(handle))
            raise
        # The challenge and the passkey with its person's state (and what the caller reads
        # along): one statement, no transaction.
        row = read_one(self._engine, _answering(along), {"handle": handle,
                                                         "credential_id": credential_id})
        if row is None:
            raise ChallengeUnknown()
        pending = self._usable(pending_of(row[:len(_CHALLENGE)]))
        if row[len(_CHALLENGE)] is None:
            raise UnknownPasskey()
        passkey = _SigningIn(*row[len(_CHALLENGE):_ANSWERED])
        # The signature first: only the passkey's holder learns whose it is, or its state.
        assertion = ceremonies.verify_authentication(
            response_json, stored_passkey=_stored_key(passkey),
            expected_challenge=pending.challenge, expected_origin=self._settings.origins,
            expected_rp_id=self._settings.rp_id,
        )
        if pending.private_id is not None and passkey.private_id != pending.private_id:
            raise PasskeyOfAnotherAccount(
                "This passkey belongs to a different account than the one signed in here. "
                "Choose a passkey of this account, or sign out and sign in with that one."
            )
        if passkey.person_state not in directory.ACTIVE_STATES:
            raise account_not_active(passkey.person_state)
        return VerifiedSignIn(handle, passkey, assertion.sign_count, assertion.backup_state,
                              assertion.user_verified, tuple(row[_ANSWERED:]))

    def _usable(self, pending: PendingChallenge | None) -> PendingChallenge:
        return usable(pending, ceremony=Ceremony.AUTHENTICATION, now=self._clock())

    # --- the person's page ---------------------------------------------------------------------

    def list_passkeys(self, private_id: str) -> list[PasskeySummary]:
        with transaction(self._sessions) as session:
            return [summarise(p) for p in self._passkeys_of(session, private_id)]

    def rename(self, private_id: str, passkey_id: str, name: str) -> PasskeySummary:
        with transaction(self._sessions) as session:
            passkey = self._owned(session, private_id, passkey_id)
            passkey.name = valid_name(name)
            return summarise(passkey)

    def remove(self, private_id: str, passkey_id: str, *, fresh_card_login: bool) -> None:
        """Remove a passkey; the last one only after a fresh card login (else: no way back in
        but the card, and a stolen session could lock the person out)."""
        with transaction(self._sessions) as session:
            # One removal at a time per person: two concurrent removals of the last two
            # passkeys would each count two and leave none. PostgreSQL: the row lock makes the
            # second wait and then count what the first left; SQLite runs one writer at a time
            # and its transaction starts at the DELETE, so the count below sees the first.
            session.execute(select(PasskeyUser.private_id)
                            .where(PasskeyUser.private_id == private_id).with_for_update())
            session.delete(self._owned(session, private_id, passkey_id))
            session.flush()
            remaining = session.execute(
                select(func.count()).select_from(Passkey).where(Passkey.private_id == private_id)
            ).scalar_one()
            if remaining == 0 and not fresh_card_login:
                raise LastPasskeyNeedsCardLogin()  # the block rolls the deletion back

    # --- helpers -------------------------------------------------------------------------------

    def _consume(self, handle: str, ceremony: Ceremony) -> PendingChallenge:
        with transaction(self._sessions) as session:
            return consume(self._store(session), handle, ceremony=ceremony, now=self._clock())

    def _require_active(self, session: Session, private_id: str) -> None:
        if not directory.passkeys_allowed(session, private_id):
            raise account_not_active(directory.state(session, private_id))

    @staticmethod
    def _user_handle(session: Session, private_id: str) -> bytes:
        user = session.get(PasskeyUser, private_id)
        if user is None:
            user = PasskeyUser(private_id=private_id, user_handle=ceremonies.new_user_handle())
            session.add(user)
        return user.user_handle

    @staticmethod
    def _passkeys_of(session: Session, private_id: str) -> list[Passkey]:
        query = select(Passkey).where(Passkey.private_id == private_id)
        return list(session.scalars(query.order_by(Passkey.created_at, Passkey.id)))

    @staticmethod
    def _by_credential_id(session: Session, credential_id: bytes) -> Passkey | None:
        query = select(Passkey).where(Passkey.credential_id == credential_id)
        return session.scalars(query).one_or_none()

    @staticmethod
    def _owned(session: Session, private_id: str, passkey_id: str) -> Passkey:
        passkey = session.get(Passkey, passkey_id)
        if passkey is None or passkey.private_id != private_id:
            raise PasskeyNotFound()
        return passkey


PASSKEYS = Base.metadata.tables[Passkey.__tablename__]


class _SigningIn(NamedTuple):
    """A row of ``_SIGNING_IN``: the passkey's columns, and its private ID's state."""

    id: str
    private_id: str
    credential_id: bytes
    public_key: bytes
    sign_count: int
    transports: list[str]
    aaguid: str
    backup_eligible: bool
    backup_state: bool
    device_type: str
    name: str
    user_handle: bytes
    anchor_issuer: str
    anchor_serial: str
    created_at: datetime
    last_used_at: datetime | None
    person_state: str | None


# A sign-in's challenge and its passkey with its person's state, in one statement: no row when
# the challenge is unknown, the passkey's columns NULL when the passkey is.
_CHALLENGE = challenge_store.COLUMNS
_ANSWERING = (
    select(*_CHALLENGE, *(PASSKEYS.c[name] for name in _SigningIn._fields[:-1]),
           directory.PRIVATE_IDS.c.state.label("person_state"))
    .select_from(challenge_store.CHALLENGES.outerjoin(
        PASSKEYS.outerjoin(directory.PRIVATE_IDS,
                           directory.PRIVATE_IDS.c.id == PASSKEYS.c.private_id),
        PASSKEYS.c.credential_id == bindparam("credential_id")))
    .where(challenge_store.CHALLENGES.c.id == bindparam("handle")))
_ANSWERED = len(_ANSWERING.selected_columns)  # the columns after these are the caller's

# What a caller reads of a sign-in's person with the passkey: ``along(statement, private_id)``
# answers ``statement`` reading more columns after its own (``private_id``: the passkey's).
Along = Callable[[Select[Any], ColumnElement[str]], Select[Any]]


@functools.lru_cache(maxsize=8)
def _answering(along: Along | None) -> Prepared:
    """``_ANSWERING``, with what ``along`` adds: built once per caller."""
    return Prepared(_ANSWERING if along is None else along(_ANSWERING, PASSKEYS.c.private_id))
_USED = Prepared(update(PASSKEYS).where(PASSKEYS.c.id == bindparam("b_id"))
                 .values(sign_count=bindparam("sign_count"),
                         backup_state=bindparam("backup_state"),
                         last_used_at=bindparam("last_used_at")))


@dataclass(frozen=True)
class VerifiedSignIn:
    """A sign-in's answer, verified; its challenge not yet spent (``PasskeyService.signed_in``
    records it)."""

    handle: str
    passkey: _SigningIn
    sign_count: int
    backup_state: bool
    user_verified: bool
    along: tuple[Any, ...] = ()  # what the caller's ``along`` read with the passkey

    @property
    def private_id(self) -> str:
        return self.passkey.private_id


def _stored_key(passkey: Passkey | _SigningIn) -> StoredKey:
    return StoredKey(
        credential_id=passkey.credential_id, public_key=passkey.public_key,
        sign_count=passkey.sign_count, backup_eligible=passkey.backup_eligible,
        user_handle=passkey.user_handle,
    )
