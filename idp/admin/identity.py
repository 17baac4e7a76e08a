"""Administrators and how they prove who they are: enrolment, passkeys, sessions, API tokens.

- ``idp admin add`` creates an administrator and a one-time enrolment URL (valid
  ``admin.enrolment_lifetime_seconds``, 15 min by default) where they register a passkey.
- They sign in to /admin with that passkey (never a password): a session of
  ``admin.session_lifetime_seconds``; a high-risk action wants the passkey again within
  ``admin.confirm_window_seconds``.
- ``idp admin token`` issues an opaque bearer token for the JSON API. Opaque rather than a
  signed JWT: it is only ever checked here, so a lookup costs nothing a JWT would save, and
  an opaque token can be listed and ends with its row; only its SHA-256 digest is stored.

The WebAuthn ceremonies are the people's (``idp.passkeys.ceremonies``, pure functions over
py_webauthn); the credentials, challenges and sessions are the administrators' own tables.
Every challenge is deleted by the first answer that names it, so a replayed assertion finds
no challenge and is refused.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from idp.admin import errors
from idp.admin.models import (
    AdminChallenge,
    AdminCredential,
    AdminEnrolment,
    Administrator,
    AdminSession,
    AdminToken,
)
from idp.admin.record import Recorder
from idp.admin.roles import Actor, Permission, Role
from idp.db import transaction
from idp.passkeys import ceremonies
from idp.passkeys.errors import PasskeyError
from idp.passkeys.values import Anchor, ExistingCredential, StoredKey
from idp.settings import AdminSettings, WebauthnSettings

REGISTRATION, AUTHENTICATION = "registration", "authentication"
CLI = Actor("cli", "cli", Role.ADMIN, "cli")  # the operator at the host's shell, unnamed


def cli_actor(user: str) -> Actor:
    """The operator at the host's shell, named by their operating system user: recorded as
    ``admin:cli:<user>`` (the admin role: whoever can run `idp` on the host owns the
    instance)."""
    return Actor("cli", f"cli:{user}", Role.ADMIN, "cli")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class AdminView:
    admin_id: str
    name: str
    role: str
    enrolled: bool
    created_at: int
    created_by: str


@dataclass(frozen=True)
class Ceremony:
    """Options for the browser's WebAuthn call, and the handle its answer comes back with."""

    options: dict[str, object]
    handle: str


@dataclass(frozen=True)
class SignedIn:
    session_token: str  # the cookie's value; only its digest is stored
    actor: Actor
    expires_at: int


class Identity:
    def __init__(self, sessions: sessionmaker[Session], settings: AdminSettings,
                 webauthn: WebauthnSettings, issuer: str, record: Recorder,
                 clock: Callable[[], float] = time.time) -> None:
        self._sessions = sessions
        self._record = record
        self._issuer = issuer.rstrip("/")
        self._settings = settings
        self._webauthn = webauthn
        self._clock = clock

    def now(self) -> int:
        return int(self._clock())

    @property
    def window(self) -> int:
        """How long a passkey confirmation covers high-risk actions (seconds)."""
        return self._settings.confirm_window_seconds

    @property
    def session_lifetime(self) -> int:
        return self._settings.session_lifetime_seconds

    def enrol_url(self, secret: str) -> str:
        """The one-time URL where the administrator registers their passkey."""
        return f"{self._issuer}/admin/enrol/{secret}"

    # -- administrators ------------------------------------------------------------------------
    def add(self, actor: Actor, name: str, role: str) -> tuple[str, str]:
        """A new administrator and the secret of their one-time enrolment URL."""
        self._record.authorise(actor, Permission.CHANGE_ADMINS, "admin.add", None)
        name = name.strip()
        if not name or len(name) > 100:
            raise errors.InvalidAdminInputError("an administrator's name is 1 to 100 characters")
        try:
            role_value = Role(role)
        except ValueError:
            raise errors.InvalidAdminInputError(
                f"unknown role {role!r}; one of admin, auditor, support") from None
        with transaction(self._sessions) as db:
            if db.scalar(select(Administrator.id).where(Administrator.name == name)):
                raise errors.AdminConflictError(f"an administrator named {name!r} exists already")
            admin_id = "adm_" + secrets.token_urlsafe(12)
            db.add(Administrator(id=admin_id, name=name, role=role_value.value,
                                 user_handle=secrets.token_bytes(32), created_at=self.now(),
                                 created_by=actor.name))
            db.flush()
            secret = self._new_enrolment(db, admin_id)
            db.flush()
            self._record(actor, "admin.add", admin_id, None, "done",
                         {"name": name, "role": role_value.value}, db=db)
        return admin_id, secret

    def reenrol(self, actor: Actor, name: str) -> tuple[str, str]:
        """A new one-time enrolment URL's secret for an existing administrator (a new device,
        a lost passkey); their passkeys so far keep working."""
        self._record.authorise(actor, Permission.CHANGE_ADMINS, "admin.reenrol", name)
        admin = self.by_name(name)
        with transaction(self._sessions) as db:
            secret = self._new_enrolment(db, admin.id)
            db.flush()
            self._record(actor, "admin.reenrol", admin.id, None, "done", db=db)
        return admin.id, secret

    def _new_enrolment(self, db: Session, admin_id: str) -> str:
        secret = secrets.token_urlsafe(32)
        db.add(AdminEnrolment(token_hash=digest(secret), admin_id=admin_id,
                              expires_at=self.now() + self._settings.enrolment_lifetime_seconds))
        return secret

    def all(self, actor: Actor) -> list[AdminView]:
        self._record.authorise(actor, Permission.READ_ADMINS, "admin.list", None)
        with self._sessions() as db:
            enrolled = set(db.scalars(select(AdminCredential.admin_id)))
            return [AdminView(a.id, a.name, a.role, a.id in enrolled, a.created_at,
                              a.created_by)
                    for a in db.scalars(select(Administrator).order_by(Administrator.name))]

    def by_name(self, name: str) -> Administrator:
        with self._sessions() as db:
            found = db.scalar(select(Administrator).where(Administrator.name == name))
        if found is None or found.disabled:
            raise errors.AdminNotFoundError(f"no administrator is named {name!r}")
        return found

    # -- enrolment -----------------------------------------------------------------------------
    def enrolment(self, secret: str) -> Administrator:
        """The administrator a live enrolment URL is for; refused when used or expired."""
        with self._sessions() as db:
            row = db.get(AdminEnrolment, digest(secret))
            admin = db.get(Administrator, row.admin_id) if row is not None else None
        refusal: errors.AdminError | None = None
        if row is None:
            refusal = errors.EnrolmentInvalidError()
        elif row.used_at is not None:
            refusal = errors.EnrolmentUsedError()
        elif row.expires_at <= self.now():
            refusal = errors.EnrolmentExpiredError()
        if refusal is not None:  # recorded once; the URL's secret never is
            self._record(None, "admin.enrol", row.admin_id if row else None, None, "refused",
                         {"why": refusal.code})
            raise refusal
        assert admin is not None  # noqa: S101 (a foreign key)
        return admin

    def enrolment_options(self, secret: str) -> Ceremony:
        admin = self.enrolment(secret)
        with transaction(self._sessions) as db:
            existing = [ExistingCredential(c) for c in db.scalars(
                select(AdminCredential.credential_id).where(AdminCredential.admin_id == admin.id))]
            options, pending = ceremonies.registration_options(
                admin.id, admin.user_handle, f"{admin.name} (admin)", existing,
                rp_id=self._webauthn.rp_id, rp_name=self._webauthn.rp_name + " admin",
                anchor=Anchor(issuer="administrator", serial=admin.id), now=self._utc(),
                timeout=self._timeout())
            return Ceremony(json.loads(options), self._save(db, REGISTRATION, pending.challenge,
                                                             admin.id))

    def enrol(self, secret: str, handle: str, credential: str) -> AdminView:
        """Keep the passkey the browser made; the enrolment URL is spent."""
        admin = self.enrolment(secret)
        challenge = self._take(handle, REGISTRATION, admin.id)
        try:
            verified = ceremonies.verify_registration(
                credential, expected_challenge=challenge,
                expected_origin=self._webauthn.origins, expected_rp_id=self._webauthn.rp_id)
        except PasskeyError as error:
            self._refused("admin.enrol", admin.id, error.description)
        with transaction(self._sessions) as db:
            spent = db.execute(update(AdminEnrolment).where(
                AdminEnrolment.token_hash == digest(secret), AdminEnrolment.used_at.is_(None))
                .values(used_at=self.now())).rowcount  # type: ignore[attr-defined]
            if not spent:
                raise errors.EnrolmentUsedError()
            db.add(AdminCredential(credential_id=verified.credential_id,
                                   admin_id=admin.id, public_key=verified.public_key,
                                   sign_count=verified.sign_count,
                                   backup_eligible=verified.backup_eligible,
                                   created_at=self.now()))
            db.flush()
            actor = Actor(admin.id, admin.name, Role(admin.role), "session")
            self._record(actor, "admin.enrol", admin.id, None, "done", db=db)
        return AdminView(admin.id, admin.name, admin.role, True, admin.created_at,
                         admin.created_by)

    # -- sign-in and confirmation --------------------------------------------------------------
    def sign_in_options(self, admin_id: str | None = None) -> Ceremony:
        """Options for a discoverable sign-in, or for confirming ``admin_id`` again."""
        with transaction(self._sessions) as db:
            allow = None
            if admin_id is not None:
                allow = [ExistingCredential(c) for c in db.scalars(
                    select(AdminCredential.credential_id)
                    .where(AdminCredential.admin_id == admin_id))]
            options, pending = ceremonies.authentication_options(
                rp_id=self._webauthn.rp_id, now=self._utc(), timeout=self._timeout(),
                allow_credentials=allow)
            return Ceremony(json.loads(options),
                            self._save(db, AUTHENTICATION, pending.challenge, admin_id))

    def sign_in(self, handle: str, credential: str) -> SignedIn:
        """A new session for the administrator whose passkey answered."""
        admin = self._assert(handle, credential, None)
        token = secrets.token_urlsafe(32)
        now = self.now()
        expires = now + self._settings.session_lifetime_seconds
        with transaction(self._sessions) as db:
            db.add(AdminSession(id_hash=digest(token), admin_id=admin.id, created_at=now,
                                expires_at=expires, confirmed_at=now))
            db.flush()
            actor = Actor(admin.id, admin.name, Role(admin.role), "session", now)
            self._record(actor, "admin.sign_in", admin.id, None, "done", db=db)
        return SignedIn(token, actor, expires)

    def confirm(self, actor: Actor, session_token: str, handle: str, credential: str) -> int:
        """The signed-in administrator confirmed with their passkey again: high-risk actions
        are allowed until the answered time (epoch seconds)."""
        self._assert(handle, credential, actor.admin_id)
        now = self.now()
        with transaction(self._sessions) as db:
            db.execute(update(AdminSession).where(AdminSession.id_hash == digest(session_token))
                       .values(confirmed_at=now))
            self._record(actor, "admin.confirm", actor.admin_id, None, "done", db=db)
        return now + self._settings.confirm_window_seconds

    def _assert(self, handle: str, credential: str, expected_admin: str | None) -> Administrator:
        challenge = self._take(handle, AUTHENTICATION, expected_admin)
        try:
            credential_id = ceremonies.assertion_credential_id(credential)
        except PasskeyError as error:
            self._refused("admin.sign_in", None, error.description)
        with self._sessions() as db:
            stored = db.get(AdminCredential, credential_id)
            admin = db.get(Administrator, stored.admin_id) if stored else None
        if stored is None or admin is None or admin.disabled:
            self._refused("admin.sign_in", None, "this passkey is not an administrator's")
        if expected_admin is not None and admin.id != expected_admin:
            self._refused("admin.confirm", admin.id, "confirm with your own passkey")
        try:
            verified = ceremonies.verify_authentication(
                credential, stored_passkey=StoredKey(stored.credential_id, stored.public_key,
                                                     stored.sign_count, stored.backup_eligible,
                                                     admin.user_handle),
                expected_challenge=challenge, expected_origin=self._webauthn.origins,
                expected_rp_id=self._webauthn.rp_id)
        except PasskeyError as error:
            self._refused("admin.sign_in", admin.id, error.description)
        with transaction(self._sessions) as db:
            db.execute(update(AdminCredential)
                       .where(AdminCredential.credential_id == stored.credential_id)
                       .values(sign_count=verified.sign_count, last_used_at=self.now()))
        return admin

    def session_actor(self, session_token: str | None) -> tuple[Actor, int] | None:
        """The administrator of a live session, and when it ends; None without one."""
        if not session_token:
            return None
        with self._sessions() as db:
            row = db.get(AdminSession, digest(session_token))
            if row is None or row.ended_at is not None or row.expires_at <= self.now():
                return None
            admin = db.get(Administrator, row.admin_id)
            if admin is None or admin.disabled:
                return None
            return (Actor(admin.id, admin.name, Role(admin.role), "session", row.confirmed_at),
                    row.expires_at)

    def sign_out(self, actor: Actor, session_token: str) -> None:
        with transaction(self._sessions) as db:
            db.execute(update(AdminSession).where(AdminSession.id_hash == digest(session_token))
                       .values(ended_at=self.now()))
            self._record(actor, "admin.sign_out", actor.admin_id, None, "done", db=db)

    def require_confirmed(self, actor: Actor, action: str, target: str | None) -> None:
        """A high-risk action from a browser session needs a recent passkey confirmation. An
        API token was issued at the host's shell (`idp admin token`, recorded) and lives at most
        ``token_max_ttl_seconds``: it stands for the confirmation."""
        if actor.via != "session":
            return
        if actor.confirmed_at is None or \
                actor.confirmed_at + self._settings.confirm_window_seconds <= self.now():
            self._record(actor, action, target, None, "refused",
                                {"why": "confirmation_required"})
            raise errors.ConfirmationRequiredError()

    # -- API tokens ----------------------------------------------------------------------------
    def issue_token(self, name: str, ttl: int | None, *,
                    actor: Actor = CLI) -> tuple[str, int]:
        """A bearer token carrying administrator ``name``'s role, for ``ttl`` seconds, issued
        by ``actor`` (the operator at the shell)."""
        ttl = ttl or self._settings.token_default_ttl_seconds
        if not 1 <= ttl <= self._settings.token_max_ttl_seconds:
            raise errors.InvalidAdminInputError(
                f"--ttl must be between 1 and {self._settings.token_max_ttl_seconds} seconds "
                "(admin.token_max_ttl_seconds)")
        admin = self.by_name(name)
        token, now = "adm." + secrets.token_urlsafe(32), self.now()
        with transaction(self._sessions) as db:
            db.execute(delete(AdminToken).where(AdminToken.expires_at <= now))
            db.add(AdminToken(token_hash=digest(token), admin_id=admin.id, issued_at=now,
                              expires_at=now + ttl))
            db.flush()
            # The token itself is never recorded: who it is for, and for how long.
            self._record(actor, "admin.token", admin.id, None, "done",
                         {"name": admin.name, "ttl": ttl, "expires_at": now + ttl}, db=db)
        return token, now + ttl

    def token_actor(self, token: str) -> Actor:
        """The administrator a bearer token stands for; refused when unknown or expired."""
        with self._sessions() as db:
            row = db.get(AdminToken, digest(token))
            admin = db.get(Administrator, row.admin_id) if row else None
        if row is None or admin is None or admin.disabled:
            raise errors.AdminLoginRequiredError("this API token is unknown or revoked")
        if row.expires_at <= self.now():
            raise errors.AdminTokenExpiredError()
        return Actor(admin.id, admin.name, Role(admin.role), "token")

    # -- challenges ----------------------------------------------------------------------------
    def _save(self, db: Session, ceremony: str, challenge: bytes, admin_id: str | None) -> str:
        handle = secrets.token_urlsafe(24)
        now = self.now()
        db.execute(delete(AdminChallenge).where(AdminChallenge.expires_at < now - 3600))
        db.add(AdminChallenge(id=handle, ceremony=ceremony, challenge=challenge,
                              admin_id=admin_id,
                              expires_at=now + self._webauthn.challenge_timeout_seconds))
        return handle

    def _take(self, handle: str, ceremony: str, admin_id: str | None) -> bytes:
        with transaction(self._sessions) as db:
            row = db.execute(delete(AdminChallenge).where(AdminChallenge.id == handle)
                             .returning(AdminChallenge.ceremony, AdminChallenge.challenge,
                                        AdminChallenge.admin_id, AdminChallenge.expires_at),
                             execution_options={"synchronize_session": False}).first()
        if row is None or row.ceremony != ceremony or row.admin_id != admin_id:
            self._refused(f"admin.{ceremony}", admin_id, "this passkey answer was already used "
                          "or was not asked for (a replay): start again")
        if row.expires_at <= self.now():
            self._refused(f"admin.{ceremony}", admin_id, "the passkey prompt expired: start "
                          "again")
        return bytes(row.challenge)

    def _refused(self, action: str, target: str | None, why: str) -> NoReturn:
        self._record(None, action, target, None, "refused", {"why": why})
        raise errors.AdminPasskeyRefusedError(f"passkey refused: {why}")

    def _utc(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _timeout(self) -> timedelta:
        return timedelta(seconds=self._webauthn.challenge_timeout_seconds)
