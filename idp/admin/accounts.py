"""People's accounts, as support and administrators see them: find, look at, lock, unlock.

An account is found by its private ID, by the pairwise ``sub`` a relying party knows it by
(recomputed for each person who used that relying party: a pairwise ``sub`` cannot be turned
back), or by name (only for roles allowed, with a reason). What is shown is its state, lock,
anchors and their history, passkeys, consents and recent sign-ins; the 4 info (name, address,
birth date, sex) stay hidden until the administrator reveals them with a reason, which is
recorded. A lock stops every sign-in at once (the person is told why at their next one), ends
the person's sessions and tells the relying parties they consented to (RISC account-disabled,
then account-enabled at the unlock).
"""

from __future__ import annotations

import time

from sqlalchemy import delete, desc, select, update
from sqlalchemy.orm import Session, sessionmaker

from idp.accounts import overview
from idp.accounts.changes import Change, ChangeSink
from idp.accounts.jpki_models import Basic4Record
from idp.accounts.models import AccountLock, LoginSession, PrivateId
from idp.admin.errors import AdminNotFoundError, InvalidAdminInputError, ReasonRequiredError
from idp.admin.identity import Identity
from idp.admin.record import Recorder
from idp.admin.roles import Actor, Permission
from idp.admin.schemas import AccountDetail, AccountQuery, AccountSummary, FourInfo, LockState
from idp.db import transaction
from idp.oidc.models import Client, Consent
from idp.oidc.pairwise import subject_for
from idp.passkeys.models import Passkey

FOUND_AT_MOST = 50


class AccountAdmin:
    def __init__(self, sessions: sessionmaker[Session], identity: Identity, changes: ChangeSink,
                 pairwise_salt: str, record: Recorder) -> None:
        self._sessions = sessions
        self._record = record
        self._identity = identity
        self._changes = changes
        self._salt = pairwise_salt

    # -- finding -------------------------------------------------------------------------------
    def find(self, actor: Actor, query: AccountQuery) -> list[AccountSummary]:
        self._record.authorise(actor, Permission.FIND_ACCOUNTS, "account.find", None)
        with self._sessions() as db:
            if query.private_id:
                ids = [query.private_id]
            elif query.client_id and query.sub:
                ids = self._by_sub(db, query.client_id, query.sub)
            elif query.name:
                self._record.authorise(actor, Permission.FIND_BY_NAME, "account.find_by_name", None)
                self._reason(actor, "account.find_by_name", query.reason)
                ids = _by_name(db, query.name)
            else:
                raise InvalidAdminInputError("find an account by private_id, by client_id and sub, "
                                        "or by name with a reason")
            found = [_summary(db, pid) for pid in ids]
        result = [f for f in found if f is not None]
        if query.name:
            self._record(actor, "account.find_by_name", None, query.reason, "done",
                                {"found": len(result)})
        return result

    def _by_sub(self, db: Session, client_id: str, sub: str) -> list[str]:
        client = db.get(Client, client_id)
        if client is None:
            raise AdminNotFoundError(f"no relying party is registered as {client_id!r}")
        if client.subject_type == "public":
            return [sub]
        users = db.scalars(select(Consent.private_id).where(Consent.client_id == client_id))
        return [pid for pid in users if subject_for(client.subject_type,
                                                    client.sector_identifier, pid,
                                                    self._salt) == sub][:1]

    # -- looking -------------------------------------------------------------------------------
    def detail(self, actor: Actor, private_id: str) -> AccountDetail:
        self._record.authorise(actor, Permission.FIND_ACCOUNTS, "account.view", private_id)
        with self._sessions() as db:
            person = db.get(PrivateId, private_id)
            if person is None:
                raise AdminNotFoundError(f"no account has the private ID {private_id!r}")
            lock = db.get(AccountLock, private_id)
            passkeys = [{"name": p.name, "device_type": p.device_type,
                         "created_at": p.created_at.isoformat(),
                         "last_used_at": p.last_used_at.isoformat() if p.last_used_at else None}
                        for p in db.scalars(select(Passkey).where(
                            Passkey.private_id == private_id).order_by(Passkey.created_at))]
            consents = [{"client_id": c.client_id, "client_name": name,
                         "claims": list(c.claims.get("approved", [])), "given_at": c.given_at}
                        for c, name in db.execute(select(Consent, Client.name).join(
                            Client, Client.client_id == Consent.client_id).where(
                            Consent.private_id == private_id))]
            created = person.created_at.isoformat()
        seen = overview.overview(self._sessions, private_id)
        self._record(actor, "account.view", private_id, None, "done")
        return AccountDetail(
            private_id=private_id, state=seen.state, created_at=created,
            lock=None if lock is None else {"reason": lock.reason, "locked_by": lock.locked_by,
                                            "locked_at": lock.locked_at},
            anchors=[{"issuer": a.issuer, "serial": a.serial, "state": a.state,
                      "last_checked_at": a.last_checked_at.isoformat()
                      if a.last_checked_at else None, "last_result": a.last_result}
                     for a in seen.anchors],
            passkeys=passkeys, consents=consents,
            sign_ins=[{"at": s.at, "acr": s.acr, "amr": list(s.amr)} for s in seen.sign_ins],
            four_info=None, four_info_hidden=True)

    def reveal(self, actor: Actor, private_id: str, reason: str | None) -> FourInfo:
        """The account's 4 info (current and history), for a reason that is recorded."""
        self._record.authorise(actor, Permission.REVEAL_4INFO, "account.reveal_4info", private_id)
        self._reason(actor, "account.reveal_4info", reason)
        self._identity.require_confirmed(actor, "account.reveal_4info", private_id)
        with self._sessions() as db:
            if db.get(PrivateId, private_id) is None:
                raise AdminNotFoundError(f"no account has the private ID {private_id!r}")
            history = list(overview.basic4_history(db, private_id))
        current = next((h["basic4"] for h in history if h["current"]), None)
        self._record(actor, "account.reveal_4info", private_id, reason, "done")
        return FourInfo(private_id=private_id,
                        four_info={"current": current, "history": history})

    # -- locking -------------------------------------------------------------------------------
    def lock(self, actor: Actor, private_id: str, reason: str | None) -> LockState:
        self._record.authorise(actor, Permission.LOCK_ACCOUNTS, "account.lock", private_id)
        self._reason(actor, "account.lock", reason)
        assert reason is not None  # noqa: S101 (checked above)
        now = int(time.time())
        with transaction(self._sessions) as db:
            person = _person(db, private_id)
            if db.get(AccountLock, private_id) is None:
                db.add(AccountLock(private_id=private_id, reason=reason, locked_by=actor.name,
                                   locked_at=now))
                db.execute(update(LoginSession).where(
                    LoginSession.private_id == private_id, LoginSession.ended_at.is_(None))
                    .values(ended_at=now))
                self._changes.record(db, [Change(
                    private_id, now, "admin", account=(person.state, "locked"),
                    sessions_revoked=True, reason=f"locked by an administrator: {reason}")])
            state = person.state
            db.flush()
            self._record(actor, "account.lock", private_id, reason, "done", db=db)
        return LockState(private_id=private_id, locked=True, state=state)

    def unlock(self, actor: Actor, private_id: str, reason: str | None) -> LockState:
        self._record.authorise(actor, Permission.LOCK_ACCOUNTS, "account.unlock", private_id)
        self._reason(actor, "account.unlock", reason)
        now = int(time.time())
        with transaction(self._sessions) as db:
            person = _person(db, private_id)
            removed = db.execute(delete(AccountLock).where(
                AccountLock.private_id == private_id)).rowcount  # type: ignore[attr-defined]
            if removed:
                self._changes.record(db, [Change(
                    private_id, now, "admin", account=("locked", person.state),
                    reason=f"unlocked by an administrator: {reason}")])
            state = person.state
            db.flush()
            self._record(actor, "account.unlock", private_id, reason, "done", db=db)
        return LockState(private_id=private_id, locked=False, state=state)


    def _reason(self, actor: Actor, action: str, reason: str | None) -> None:
        if not reason or not reason.strip():
            self._record(actor, action, None, None, "refused", {"why": "reason_required"})
            raise ReasonRequiredError()


def _person(db: Session, private_id: str) -> PrivateId:
    person = db.get(PrivateId, private_id)
    if person is None:
        raise AdminNotFoundError(f"no account has the private ID {private_id!r}")
    return person


def _by_name(db: Session, name: str) -> list[str]:
    """Private IDs whose current 4 info name contains ``name`` (spaces ignored), read in
    batches: the 4 info are JSON, which neither database searches alike."""
    wanted = "".join(name.split())
    found: list[str] = []
    rows = db.execute(select(Basic4Record.private_id, Basic4Record.basic4)
                      .where(Basic4Record.current.is_(True))
                      .order_by(desc(Basic4Record.recorded_at))
                      .execution_options(yield_per=500))
    for private_id, basic4 in rows:
        if wanted and wanted in "".join(str((basic4 or {}).get("name", "")).split()):
            found.append(private_id)
            if len(found) >= FOUND_AT_MOST:
                break
    return found


def _summary(db: Session, private_id: str) -> AccountSummary | None:
    person = db.get(PrivateId, private_id)
    if person is None:
        return None
    return AccountSummary(private_id=private_id, state=person.state,
                          locked=db.get(AccountLock, private_id) is not None,
                          created_at=person.created_at.isoformat())


