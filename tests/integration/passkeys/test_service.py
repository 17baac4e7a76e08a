"""The passkey service over a migrated database (SQLite and PostgreSQL): the account rules."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from idp import db
from idp.accounts.models import PrivateId
from idp.errors import AccountNotActiveError
from idp.passkeys.challenge_store import (
    KEEP_EXPIRED,
    PURGE_EVERY,
    SqlChallengeStore,
    save_alone,
)
from idp.passkeys.errors import (
    ChallengeExpired,
    ChallengeUnknown,
    InvalidPasskeyName,
    InvalidPasskeyResponse,
    LastPasskeyNeedsCardLogin,
    PasskeyAlreadyRegistered,
    PasskeyNotFound,
    PasskeyOfAnotherAccount,
    SignCountRegression,
    UnknownPasskey,
    UserVerificationRequired,
    WrongOrigin,
)
from idp.passkeys.models import Passkey, PasskeyChallenge, PasskeyUser
from idp.passkeys.service import PasskeyService
from idp.passkeys.summaries import PasskeyLogin, PasskeySummary
from idp.passkeys.values import Anchor, Ceremony, DeviceType, PendingChallenge
from idp.settings import WebauthnSettings
from tests.support.postgres import Cluster
from tests.support.webauthn_authenticator import SoftAuthenticator

ORIGIN = "http://localhost:8000"
ANCHOR = Anchor(issuer="CN=JPKI-SIM Sign CA,O=JPKI-SIM,C=JP", serial="0a1b2c")
NEW_ANCHOR = Anchor(issuer="CN=JPKI-SIM Sign CA,O=JPKI-SIM,C=JP", serial="0d0e0f")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(sessions: sessionmaker[Session], clock: Clock) -> PasskeyService:
    return PasskeyService(sessions, WebauthnSettings(), clock=clock)


def _private_id(sessions: sessionmaker[Session], state: str = "active") -> str:
    with db.transaction(sessions) as session:
        row = PrivateId(state=state)
        session.add(row)
        session.flush()
        return row.id


def _set_state(sessions: sessionmaker[Session], private_id: str, state: str) -> None:
    with db.transaction(sessions) as session:
        session.get_one(PrivateId, private_id).state = state


def _register(service: PasskeyService, private_id: str, authenticator: SoftAuthenticator,
              anchor: Anchor = ANCHOR, **knobs: object) -> PasskeySummary:
    started = service.begin_registration(private_id=private_id, display_name="Alice",
                                         anchor=anchor)
    response = authenticator.create(started.options_json, origin=ORIGIN,
                                    **knobs)  # type: ignore[arg-type]
    return service.finish_registration(handle=started.handle, response_json=response)


def _login(service: PasskeyService, authenticator: SoftAuthenticator,
           expected_private_id: str | None = None, **knobs: object) -> PasskeyLogin:
    started = service.begin_authentication(expected_private_id=expected_private_id)
    response = authenticator.get(started.options_json, origin=ORIGIN,
                                 **knobs)  # type: ignore[arg-type]
    return service.finish_authentication(handle=started.handle, response_json=response)


def test_a_registered_passkey_remembers_its_anchor_model_and_device_binding(
    service: PasskeyService, sessions: sessionmaker[Session], clock: Clock
) -> None:
    alice = _private_id(sessions)
    passkey = _register(service, alice, SoftAuthenticator())
    assert passkey.enrolled_anchor == ANCHOR
    assert passkey.aaguid == "5ca1ab1e-0000-0000-0000-00000000cafe"
    assert passkey.device_type is DeviceType.SINGLE_DEVICE
    assert not passkey.synced
    assert passkey.name == "Passkey on this device (2026-11-21)"
    assert passkey.created_at == clock.now
    assert passkey.last_used_at is None
    assert service.list_passkeys(alice) == [passkey]


def test_a_synced_passkey_is_recorded_as_multi_device_and_backed_up(
    service: PasskeyService, sessions: sessionmaker[Session]
) -> None:
    alice = _private_id(sessions)
    passkey = _register(service, alice, SoftAuthenticator(backup_eligible=True, backup_state=True))
    assert passkey.device_type is DeviceType.MULTI_DEVICE
    assert (passkey.backup_eligible, passkey.backup_state) == (True, True)
    assert passkey.name == "Synced passkey (2026-11-21)"


def test_the_user_handle_is_random_shared_by_a_persons_passkeys_and_not_the_private_id(
    service: PasskeyService, sessions: sessionmaker[Session]
) -> None:
    alice, bob = _private_id(sessions), _private_id(sessions)
    _register(service, alice, SoftAuthenticator())
    _register(service, alice, SoftAuthenticator())
    _register(service, bob, SoftAuthenticator())
    with sessions() as session:
        handles = {row.private_id: row.user_handle for row in session.scalars(select(Passkey))
                   if row.private_id == alice}
        users = {u.private_id: u.user_handle for u in session.scalars(select(PasskeyUser))}
    assert set(handles.values()) == {users[alice]}
    assert users[alice] != users[bob]
    assert len(users[alice]) >= 32
    assert alice.encode() not in users[alice]


def test_registration_without_user_verification_keeps_nothing(
    service: PasskeyService, sessions: sessionmaker[Session]
) -> None:
    alice = _private_id(sessions)
    with pytest.raises(UserVerificationRequired):
        _register(service, alice, SoftAuthenticator(), user_verified=False)
    assert service.list_passkeys(alice) == []


def test_a_registration_answer_is_accepted_once(
    service: PasskeyService, sessions: sessionmaker[Session]
) -> None:
    alice = _private_id(sessions)
    started = service.begin_registration(private_id=alice, display_name="Alice", anchor=ANCHOR)
    response = SoftAuthenticator().create(started.options_json, origin=ORIGIN)
    service.finish_registration(handle=started.handle, response_json=response)
    with pytest.raises(ChallengeUnknown):
        service.finish_registration(handle=started.handle, response_json=response)


def test_a_refused_answer_uses_up_its_challenge(
    service: PasskeyService, sessions: sessionmaker[Session]
) -> None:
    alice = _private_id(sessions)
    started = service.begin_registration(private_id=alice, display_name="Alice", anchor=ANCHOR)
    authenticator = SoftAuthenticator()
    with pytest.raises(WrongOrigin):
        service.finish_registration(handle=started.handle, response_json=authenticator.create(
            started.options_json, origin="https://phish.example"))
    with pytest.raises(ChallengeUnknown):
        service.finish_registration(handle=started.handle, response_json=authenticator.create(
            started.options_json, origin=ORIGIN))


def test_a_refused_sign_in_uses_up_its_challenge_and_changes_nothing(
    service: PasskeyService, sessions: sessionmaker[Session]
) -> None:
    authenticator = SoftAuthenticator()
    passkey = _register(service, _private_id(sessions), authenticator)
    started = service.begin_authentication()
    with pytest.raises(WrongOrigin):
        service.finish_authentication(handle=started.handle, response_json=authenticator.get(
            started.options_json, origin="https://phish.example"))
    with pytest.raises(ChallengeUnknown):
        service.finish_authentication(handle=started.handle, response_json=authenticator.get(
            started.options_json, origin=ORIGIN))
    with sessions() as session:
        assert session.get_one(Passkey, passkey.id).last_used_at is None


def test_a_sign_in_takes_its_challenge_once(
    service: PasskeyService, sessions: sessionmaker[Session]
) -> None:
    authenticator = SoftAuthenticator()
    _register(service, _private_id(sessions), authenticator)
    started = service.begin_authentication()
    service.finish_authentication(handle=started.handle, response_json=authenticator.get(
        started.options_json, origin=ORIGIN))
    with pytest.raises(ChallengeUnknown):
        service.finish_authentication(handle=started.handle, response_json=authenticator.get(
            started.options_json, origin=ORIGIN))


def test_an_expired_challenge_is_refused_as_expired(
    service: PasskeyService, sessions: sessionmaker[Session], clock: Clock
) -> None:
    alice = _private_id(sessions)
    started = service.begin_registration(private_id=alice, display_name="Alice", anchor=ANCHOR)
    response = SoftAuthenticator().create(started.options_json, origin=ORIGIN)
    clock.now += timedelta(seconds=WebauthnSettings().challenge_timeout_seconds)
    with pytest.raises(ChallengeExpired):
        service.finish_registration(handle=started.handle, response_json=response)


def test_a_login_challenge_cannot_finish_a_registration(
    service: PasskeyService, sessions: sessionmaker[Session]
) -> None:
    alice = _private_id(sessions)
    login = service.begin_authentication()
    started = service.begin_registration(private_id=alice, display_name="Alice", anchor=ANCHOR)
    response = SoftAuthenticator().create(started.options_json, origin=ORIGIN)
    with pytest.raises(ChallengeUnknown):
        service.finish_registration(handle=login.handle, response_json=response)


def test_the_same_credential_cannot_be_registered_twice(
    service: PasskeyService, sessions: sessionmaker[Session]
) -> None:
    alice = _private_id(sessions)
    authenticator = SoftAuthenticator()
    _register(service, alice, authenticator)
    (credential_id,) = authenticator.credentials
    with pytest.raises(PasskeyAlreadyRegistered):
        _register(service, alice, authenticator, credential_id=credential_id)


def test_a_passkey_login_names_the_private_id_and_the_anchor_it_was_enrolled_under(
    service: PasskeyService, sessions: sessionmaker[Session], clock: Clock
) -> None:
    alice = _private_id(sessions)
    authenticator = SoftAuthenticator(backup_eligible=True, backup_state=False)
    enrolled = _register(service, alice, authenticator)
    authenticator.backup_state = True
    clock.now += timedelta(hours=1)
    login = _login(service, authenticator)
    assert login.private_id == alice
    assert login.user_verified
    assert login.passkey.id == enrolled.id
    assert login.passkey.enrolled_anchor == ANCHOR
    assert login.passkey.backup_state  # the provider has synced it since
    assert login.passkey.last_used_at == clock.now
    with sessions() as session:
        assert session.get_one(Passkey, enrolled.id).sign_count == 1


def test_a_sign_count_going_backwards_is_refused(
    service: PasskeyService, sessions: sessionmaker[Session]
) -> None:
    alice = _private_id(sessions)
    authenticator = SoftAuthenticator()
    _register(service, alice, authenticator)
    _login(service, authenticator)
    _login(service, authenticator)
    with pytest.raises(SignCountRegression):
        _login(service, authenticator, sign_count=1)  # a clone that copied the key earlier


def test_a_removed_passkey_is_unknown(
    service: PasskeyService, sessions: sessionmaker[Session]
) -> None:
    alice = _private_id(sessions)
    authenticator, other = SoftAuthenticator(), SoftAuthenticator()
    passkey = _register(service, alice, authenticator)
    _register(service, alice, other)
    service.remove(alice, passkey.id, fresh_card_login=False)
    with pytest.raises(UnknownPasskey, match="not registered here"):
        _login(service, authenticator)


def test_a_passkey_of_another_account_is_refused_when_the_flow_expects_one(
    service: PasskeyService, sessions: sessionmaker[Session]
) -> None:
    alice, bob = _private_id(sessions), _private_id(sessions)
    _register(service, alice, SoftAuthenticator())
    bobs_authenticator = SoftAuthenticator()
    _register(service, bob, bobs_authenticator)
    with pytest.raises(PasskeyOfAnotherAccount, match=r"different account.*sign in with that one"):
        _login(service, bobs_authenticator, expected_private_id=alice)
    assert _login(service, bobs_authenticator, expected_private_id=bob).private_id == bob


@pytest.mark.parametrize("state", ["suspended", "closed"])
def test_passkeys_of_a_suspended_or_closed_private_id_no_longer_log_in(
    service: PasskeyService, sessions: sessionmaker[Session], state: str
) -> None:
    alice = _private_id(sessions)
    authenticator = SoftAuthenticator()
    _register(service, alice, authenticator)
    _set_state(sessions, alice, state)
    with pytest.raises(AccountNotActiveError):
        _login(service, authenticator)
    with pytest.raises(AccountNotActiveError):
        _register(service, alice, SoftAuthenticator())


def test_a_passkey_keeps_its_enrolment_anchor_after_a_reissue(
    service: PasskeyService, sessions: sessionmaker[Session]
) -> None:
    alice = _private_id(sessions)
    old, new = SoftAuthenticator(), SoftAuthenticator()
    _register(service, alice, old, anchor=ANCHOR)
    _register(service, alice, new, anchor=NEW_ANCHOR)
    assert _login(service, old).passkey.enrolled_anchor == ANCHOR
    assert _login(service, new).passkey.enrolled_anchor == NEW_ANCHOR


def test_rename_trims_and_checks_the_name(
    service: PasskeyService, sessions: sessionmaker[Session]
) -> None:
    alice = _private_id(sessions)
    passkey = _register(service, alice, SoftAuthenticator())
    assert service.rename(alice, passkey.id, "  Work laptop  ").name == "Work laptop"
    assert service.list_passkeys(alice)[0].name == "Work laptop"
    for bad in ["", "   ", "x" * 65, "tab\there"]:
        with pytest.raises(InvalidPasskeyName):
            service.rename(alice, passkey.id, bad)


def test_nobody_renames_or_removes_another_persons_passkey(
    service: PasskeyService, sessions: sessionmaker[Session]
) -> None:
    alice, bob = _private_id(sessions), _private_id(sessions)
    passkey = _register(service, alice, SoftAuthenticator())
    with pytest.raises(PasskeyNotFound):
        service.rename(bob, passkey.id, "mine now")
    with pytest.raises(PasskeyNotFound):
        service.remove(bob, passkey.id, fresh_card_login=True)
    assert service.list_passkeys(alice) == [passkey]


def test_removing_the_last_passkey_needs_a_fresh_card_login(
    service: PasskeyService, sessions: sessionmaker[Session]
) -> None:
    alice = _private_id(sessions)
    first = _register(service, alice, SoftAuthenticator())
    second = _register(service, alice, SoftAuthenticator())
    service.remove(alice, first.id, fresh_card_login=False)
    with pytest.raises(LastPasskeyNeedsCardLogin, match="My Number Card"):
        service.remove(alice, second.id, fresh_card_login=False)
    assert [p.id for p in service.list_passkeys(alice)] == [second.id]
    service.remove(alice, second.id, fresh_card_login=True)
    assert service.list_passkeys(alice) == []


def test_removals_of_the_last_two_passkeys_at_once_leave_one(
    service: PasskeyService, sessions: sessionmaker[Session]
) -> None:
    """A removal under way (the person's passkey row locked, one passkey deleted, not yet
    committed) makes a second one wait and then count what the first left."""
    alice = _private_id(sessions)
    first = _register(service, alice, SoftAuthenticator())
    second = _register(service, alice, SoftAuthenticator())
    outcome: list[BaseException | None] = []

    def remove_second() -> None:
        try:
            service.remove(alice, second.id, fresh_card_login=False)
            outcome.append(None)
        except LastPasskeyNeedsCardLogin as refused:
            outcome.append(refused)

    with sessions() as other, other.begin():
        other.execute(select(PasskeyUser.private_id)
                      .where(PasskeyUser.private_id == alice).with_for_update())
        other.execute(delete(Passkey).where(Passkey.id == first.id))
        racing = threading.Thread(target=remove_second)
        racing.start()
        time.sleep(0.5)
        assert racing.is_alive()  # waits for the first removal
    racing.join(timeout=10)
    assert len(outcome) == 1
    assert isinstance(outcome[0], LastPasskeyNeedsCardLogin)
    assert [p.id for p in service.list_passkeys(alice)] == [second.id]


def test_a_bad_signature_is_refused_before_the_account_state_is_revealed(
    service: PasskeyService, sessions: sessionmaker[Session]
) -> None:
    alice = _private_id(sessions)
    authenticator = SoftAuthenticator()
    passkey = _register(service, alice, authenticator)
    _set_state(sessions, alice, "suspended")
    (credential,) = authenticator.credentials.values()
    credential.private_key = ec.generate_private_key(ec.SECP256R1())  # an impostor's key
    with pytest.raises(InvalidPasskeyResponse, match="signature"):
        _login(service, authenticator)
    with sessions() as session:
        assert session.get_one(Passkey, passkey.id).last_used_at is None


@pytest.mark.postgres
def test_of_two_concurrent_answers_only_one_takes_the_challenge(
    pg_cluster: Cluster, clock: Clock
) -> None:
    url = pg_cluster.create_database()
    db.upgrade(url)
    engine = db.make_engine(url)
    sessions = db.make_sessionmaker(engine)
    try:
        with db.transaction(sessions) as session:
            handle = SqlChallengeStore(session, clock).save(PendingChallenge(
                Ceremony.AUTHENTICATION, b"c" * 32, clock.now + timedelta(minutes=5)))
        with sessions() as first, sessions() as second:
            seen = second.get(PasskeyChallenge, handle)  # both have read it ...
            assert seen is not None
            with first.begin():
                assert SqlChallengeStore(first, clock).take(handle) is not None
            # ... but the DELETE of only one finds it.
            assert SqlChallengeStore(second, clock).take(handle) is None
            second.commit()
    finally:
        engine.dispose()


def _pending(expires_at: datetime) -> PendingChallenge:
    return PendingChallenge(Ceremony.AUTHENTICATION, b"c" * 32, expires_at)


def test_saves_forget_challenges_expired_for_over_an_hour_within_purge_every_saves(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with db.transaction(sessions) as session:
        store = SqlChallengeStore(session, clock)
        old = store.save(_pending(clock.now - KEEP_EXPIRED - timedelta(seconds=1)))
        recent = store.save(_pending(clock.now - timedelta(minutes=5)))
        for _ in range(PURGE_EVERY):
            store.save(_pending(clock.now + timedelta(minutes=5)))
    with sessions() as session:
        assert session.get(PasskeyChallenge, old) is None
        assert session.get(PasskeyChallenge, recent) is not None  # still answered "expired"


def test_a_store_that_purges_at_every_save_forgets_at_once(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    with db.transaction(sessions) as session:
        store = SqlChallengeStore(session, clock, purge_every=1)
        old = store.save(_pending(clock.now - KEEP_EXPIRED - timedelta(seconds=1)))
        store.save(_pending(clock.now + timedelta(minutes=5)))
        assert session.get(PasskeyChallenge, old) is None


def test_sign_in_options_saved_alone_forget_expired_challenges_within_purge_every_saves(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    """``save_alone`` (a sign-in's options: no unit of work around them) commits each challenge
    by itself and purges as a store's saves do."""
    engine = sessions.kw["bind"]
    old = save_alone(engine, _pending(clock.now - KEEP_EXPIRED - timedelta(seconds=1)), clock)
    recent = save_alone(engine, _pending(clock.now - timedelta(minutes=5)), clock)
    kept = [save_alone(engine, _pending(clock.now + timedelta(minutes=5)), clock)
            for _ in range(PURGE_EVERY)]
    with sessions() as session:
        assert session.get(PasskeyChallenge, old) is None
        assert session.get(PasskeyChallenge, recent) is not None  # still answered "expired"
        assert all(session.get(PasskeyChallenge, handle) is not None for handle in kept)
