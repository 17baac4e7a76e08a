"""The WebAuthn ceremonies against a software authenticator: what is accepted, what is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from idp.passkeys import ceremonies
from idp.passkeys.errors import (
    ChallengeMismatch,
    InvalidPasskeyResponse,
    SignCountRegression,
    UserVerificationRequired,
    WrongOrigin,
    WrongRelyingParty,
)
from idp.passkeys.values import (
    Anchor,
    Ceremony,
    DeviceType,
    ExistingCredential,
    PendingChallenge,
    StoredKey,
    VerifiedPasskey,
)
from tests.support.webauthn_authenticator import SOFT_AAGUID, SoftAuthenticator, b64url

RP_ID = "localhost"
ORIGIN = "http://localhost:8000"
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
ANCHOR = Anchor(issuer="CN=JPKI-SIM Sign CA,O=JPKI-SIM,C=JP", serial="1a2b")
HANDLE = b"\x01" * 32


def _register_options(
    existing: tuple[ExistingCredential, ...] = (),
) -> tuple[str, PendingChallenge]:
    return ceremonies.registration_options(
        "pid_alice", HANDLE, "Alice", existing, rp_id=RP_ID, rp_name="JPKI IdP", anchor=ANCHOR,
        now=NOW, timeout=timedelta(minutes=5),
    )


def _register(authenticator: SoftAuthenticator, **kwargs: object) -> VerifiedPasskey:
    options, pending = _register_options()
    response = authenticator.create(options, origin=ORIGIN, **kwargs)  # type: ignore[arg-type]
    return ceremonies.verify_registration(
        response, expected_challenge=pending.challenge, expected_origin=[ORIGIN],
        expected_rp_id=RP_ID,
    )


def _stored(passkey: VerifiedPasskey, sign_count: int | None = None) -> StoredKey:
    return StoredKey(
        credential_id=passkey.credential_id, public_key=passkey.public_key,
        sign_count=passkey.sign_count if sign_count is None else sign_count,
        backup_eligible=passkey.backup_eligible, user_handle=HANDLE,
    )


def _login_options() -> tuple[str, PendingChallenge]:
    return ceremonies.authentication_options(rp_id=RP_ID, now=NOW, timeout=timedelta(minutes=5))


def test_registration_options_ask_for_a_discoverable_user_verified_passkey() -> None:
    existing = (ExistingCredential(b"old-credential"),)
    options_json, pending = _register_options(existing)
    options = json.loads(options_json)
    assert options["rp"] == {"id": RP_ID, "name": "JPKI IdP"}
    assert options["user"]["id"] == b64url(HANDLE)
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["attestation"] == "none"
    assert options["excludeCredentials"] == [
        {"id": b64url(b"old-credential"), "type": "public-key"}
    ]
    assert options["challenge"] == b64url(pending.challenge)
    assert len(pending.challenge) >= 16
    assert pending.ceremony is Ceremony.REGISTRATION
    assert pending.private_id == "pid_alice"
    assert pending.anchor == ANCHOR
    assert pending.expires_at == NOW + timedelta(minutes=5)


def test_registration_records_aaguid_transports_and_a_device_bound_passkey() -> None:
    passkey = _register(SoftAuthenticator())
    assert passkey.aaguid == "5ca1ab1e-0000-0000-0000-00000000cafe"
    assert bytes.fromhex(passkey.aaguid.replace("-", "")) == SOFT_AAGUID
    assert passkey.user_verified
    assert passkey.transports == ("internal", "hybrid")
    assert (passkey.backup_eligible, passkey.backup_state) == (False, False)
    assert passkey.device_type is DeviceType.SINGLE_DEVICE


def test_registration_of_a_synced_passkey_records_backup_eligibility_and_state() -> None:
    passkey = _register(SoftAuthenticator(backup_eligible=True, backup_state=True))
    assert (passkey.backup_eligible, passkey.backup_state) == (True, True)
    assert passkey.device_type is DeviceType.MULTI_DEVICE


def test_registration_without_user_verification_is_refused() -> None:
    with pytest.raises(UserVerificationRequired, match="PIN, fingerprint or face"):
        _register(SoftAuthenticator(), user_verified=False)


def test_registration_from_another_origin_is_refused_naming_the_right_address() -> None:
    options, pending = _register_options()
    response = SoftAuthenticator().create(options, origin="https://evil.example")
    with pytest.raises(WrongOrigin, match=r"https://evil\.example.*http://localhost:8000"):
        ceremonies.verify_registration(response, expected_challenge=pending.challenge,
                                       expected_origin=ORIGIN, expected_rp_id=RP_ID)


def test_registration_inside_another_sites_frame_is_refused() -> None:
    with pytest.raises(WrongOrigin, match="frame"):
        _register(SoftAuthenticator(cross_origin=True))


def test_registration_for_another_rp_id_is_refused() -> None:
    with pytest.raises(WrongRelyingParty):
        _register(SoftAuthenticator(), rp_id="evil.example")


def test_registration_answering_another_challenge_is_refused() -> None:
    with pytest.raises(ChallengeMismatch):
        _register(SoftAuthenticator(), challenge=b"an older challenge, not this one")


def test_backup_state_without_eligibility_is_refused() -> None:
    with pytest.raises(InvalidPasskeyResponse, match="impossible backup state"):
        _register(SoftAuthenticator(backup_eligible=False, backup_state=True))


def test_garbage_instead_of_a_registration_is_a_clear_refusal() -> None:
    with pytest.raises(InvalidPasskeyResponse, match="not a passkey registration"):
        ceremonies.verify_registration("{}", expected_challenge=b"x" * 32,
                                       expected_origin=ORIGIN, expected_rp_id=RP_ID)


DEEPER_THAN_THE_PARSER = "[" * 50_000 + "]" * 50_000


def test_an_answer_nested_deeper_than_the_parser_goes_is_a_clear_refusal() -> None:
    with pytest.raises(InvalidPasskeyResponse, match="not a passkey registration"):
        ceremonies.verify_registration(DEEPER_THAN_THE_PARSER, expected_challenge=b"x" * 32,
                                       expected_origin=ORIGIN, expected_rp_id=RP_ID)
    with pytest.raises(InvalidPasskeyResponse, match="not a passkey sign-in"):
        ceremonies.assertion_credential_id(DEEPER_THAN_THE_PARSER)


def _with_client_data(response: str, client_data: str) -> str:
    answer = json.loads(response)
    answer["response"]["clientDataJSON"] = b64url(client_data.encode())
    return json.dumps(answer)


def test_a_client_data_json_nested_deeper_than_the_parser_goes_is_a_clear_refusal() -> None:
    authenticator = SoftAuthenticator()
    options, pending = _register_options()
    with pytest.raises(InvalidPasskeyResponse):
        ceremonies.verify_registration(
            _with_client_data(authenticator.create(options, origin=ORIGIN),
                              DEEPER_THAN_THE_PARSER),
            expected_challenge=pending.challenge, expected_origin=ORIGIN, expected_rp_id=RP_ID)
    passkey = _register(authenticator)
    options, pending = _login_options()
    response = authenticator.get(options, origin=ORIGIN, credential_id=passkey.credential_id)
    with pytest.raises(InvalidPasskeyResponse):
        ceremonies.verify_authentication(
            _with_client_data(response, DEEPER_THAN_THE_PARSER), stored_passkey=_stored(passkey),
            expected_challenge=pending.challenge, expected_origin=ORIGIN, expected_rp_id=RP_ID)


def test_authentication_options_are_discoverable_and_require_user_verification() -> None:
    options_json, pending = _login_options()
    options = json.loads(options_json)
    assert options["rpId"] == RP_ID
    assert options["allowCredentials"] == []
    assert options["userVerification"] == "required"
    assert pending.ceremony is Ceremony.AUTHENTICATION
    assert pending.private_id is None


def test_authentication_verifies_the_signature_and_reports_the_new_count() -> None:
    authenticator = SoftAuthenticator()
    passkey = _register(authenticator)
    options, pending = _login_options()
    response = authenticator.get(options, origin=ORIGIN)
    assert ceremonies.assertion_credential_id(response) == passkey.credential_id
    assertion = ceremonies.verify_authentication(
        response, stored_passkey=_stored(passkey), expected_challenge=pending.challenge,
        expected_origin=[ORIGIN], expected_rp_id=RP_ID,
    )
    assert assertion.credential_id == passkey.credential_id
    assert assertion.sign_count == 1
    assert assertion.user_verified


def test_authentication_signed_by_another_key_is_refused() -> None:
    authenticator = SoftAuthenticator()
    passkey = _register(authenticator)
    impostor = _register(SoftAuthenticator())
    stored = StoredKey(passkey.credential_id, impostor.public_key, 0, False, HANDLE)
    options, pending = _login_options()
    with pytest.raises(InvalidPasskeyResponse, match="signature"):
        ceremonies.verify_authentication(
            authenticator.get(options, origin=ORIGIN), stored_passkey=stored,
            expected_challenge=pending.challenge, expected_origin=ORIGIN, expected_rp_id=RP_ID)


@pytest.mark.parametrize(
    ("knobs", "error"),
    [
        ({"user_verified": False}, UserVerificationRequired),
        ({"rp_id": "evil.example"}, WrongRelyingParty),
        ({"challenge": b"replayed from an earlier login"}, ChallengeMismatch),
        ({"user_handle": b"\x02" * 32}, InvalidPasskeyResponse),
    ],
)
def test_authentication_refuses_a_bad_assertion(knobs: dict[str, object], error: type) -> None:
    authenticator = SoftAuthenticator()
    passkey = _register(authenticator)
    options, pending = _login_options()
    response = authenticator.get(options, origin=ORIGIN, credential_id=passkey.credential_id,
                                 **knobs)  # type: ignore[arg-type]
    with pytest.raises(error):
        ceremonies.verify_authentication(response, stored_passkey=_stored(passkey),
                                         expected_challenge=pending.challenge,
                                         expected_origin=ORIGIN, expected_rp_id=RP_ID)


def test_a_sign_count_that_goes_backwards_is_refused_as_a_possible_clone() -> None:
    authenticator = SoftAuthenticator()
    passkey = _register(authenticator)
    options, pending = _login_options()
    response = authenticator.get(options, origin=ORIGIN)  # count 1, stored says 7
    with pytest.raises(SignCountRegression, match="copied"):
        ceremonies.verify_authentication(response, stored_passkey=_stored(passkey, 7),
                                         expected_challenge=pending.challenge,
                                         expected_origin=ORIGIN, expected_rp_id=RP_ID)


def test_an_authenticator_that_never_counts_may_keep_sending_zero() -> None:
    authenticator = SoftAuthenticator(backup_eligible=True, backup_state=True, counting=False)
    passkey = _register(authenticator)
    for _ in range(2):
        options, pending = _login_options()
        assertion = ceremonies.verify_authentication(
            authenticator.get(options, origin=ORIGIN), stored_passkey=_stored(passkey),
            expected_challenge=pending.challenge, expected_origin=ORIGIN, expected_rp_id=RP_ID)
        assert assertion.sign_count == 0
        assert assertion.backup_state


def test_backup_state_may_change_between_uses_but_eligibility_may_not() -> None:
    authenticator = SoftAuthenticator(backup_eligible=True, backup_state=False)
    passkey = _register(authenticator)
    authenticator.backup_state = True  # the provider finished syncing it
    options, pending = _login_options()
    assertion = ceremonies.verify_authentication(
        authenticator.get(options, origin=ORIGIN), stored_passkey=_stored(passkey),
        expected_challenge=pending.challenge, expected_origin=ORIGIN, expected_rp_id=RP_ID)
    assert assertion.backup_state
    authenticator.backup_eligible = authenticator.backup_state = False
    options, pending = _login_options()
    with pytest.raises(InvalidPasskeyResponse, match="backup eligibility changed"):
        ceremonies.verify_authentication(
            authenticator.get(options, origin=ORIGIN), stored_passkey=_stored(passkey),
            expected_challenge=pending.challenge, expected_origin=ORIGIN, expected_rp_id=RP_ID)


def test_a_registration_response_is_not_accepted_as_a_login() -> None:
    authenticator = SoftAuthenticator()
    options, _ = _register_options()
    with pytest.raises(InvalidPasskeyResponse, match="not a passkey sign-in"):
        ceremonies.assertion_credential_id(authenticator.create(options, origin=ORIGIN))


def test_user_handles_are_random_and_long_enough() -> None:
    first, second = ceremonies.new_user_handle(), ceremonies.new_user_handle()
    assert len(first) >= 32
    assert first != second
