"""The two WebAuthn ceremonies, as pure functions over py_webauthn.

Registration makes a discoverable credential (a passkey) with user verification required and no
attestation asked: this IdP identifies people by their JPKI certificate, not by the make of their
authenticator, so it records the AAGUID only to show and to account for it. Authentication asks
for a discoverable credential (empty allowCredentials), which is also what conditional mediation
(passkey autofill) needs. Challenges are made here and kept by the caller (see ``challenges``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    parse_attestation_object,
    parse_authentication_credential_json,
    parse_authenticator_data,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    ClientDataType,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from idp.passkeys.checks import check_authenticator_data, check_client_data
from idp.passkeys.errors import InvalidPasskeyResponse, SignCountRegression
from idp.passkeys.values import (
    Anchor,
    Ceremony,
    ExistingCredential,
    PendingChallenge,
    StoredKey,
    VerifiedAssertion,
    VerifiedPasskey,
)

CHALLENGE_BYTES = 32  # §13.4.3: at least 16 random bytes
USER_HANDLE_BYTES = 32  # §14.6.1: random, not personal data; at most 64 bytes
# What py_webauthn's parsers raise for an answer that is no credential (or whose
# clientDataJSON is none): RecursionError for JSON nested deeper than the parser goes.
UNREADABLE = (WebAuthnException, ValueError, KeyError, TypeError, RecursionError)


def new_user_handle() -> bytes:
    """A user handle for one private ID: random, so it reveals nothing about the person."""
    return secrets.token_bytes(USER_HANDLE_BYTES)


def registration_options(
    private_id: str,
    user_handle: bytes,
    display_name: str,
    existing_credentials: Sequence[ExistingCredential],
    *,
    rp_id: str,
    rp_name: str,
    anchor: Anchor,
    now: datetime,
    timeout: timedelta,
) -> tuple[str, PendingChallenge]:
    """Options for ``navigator.credentials.create()`` (JSON) and the challenge to keep."""
    challenge = secrets.token_bytes(CHALLENGE_BYTES)
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=rp_name,
        user_id=user_handle,
        user_name=display_name,
        user_display_name=display_name,
        challenge=challenge,
        timeout=int(timeout.total_seconds() * 1000),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[_descriptor(c) for c in existing_credentials],
    )
    pending = PendingChallenge(
        ceremony=Ceremony.REGISTRATION, challenge=challenge, expires_at=now + timeout,
        private_id=private_id, anchor=anchor,
    )
    return options_to_json(options), pending


def verify_registration(
    response_json: str,
    *,
    expected_challenge: bytes,
    expected_origin: str | Sequence[str],
    expected_rp_id: str,
) -> VerifiedPasskey:
    """§7.1 Registering a new credential; refuses without user verification."""
    origins = _origins(expected_origin)
    credential = _parse_registration(response_json)
    try:
        client_data = parse_client_data_json(credential.response.client_data_json)
        auth_data = parse_attestation_object(credential.response.attestation_object).auth_data
    except UNREADABLE as exc:
        raise InvalidPasskeyResponse() from exc
    check_client_data(client_data, ceremony_type=ClientDataType.WEBAUTHN_CREATE,
                      expected_challenge=expected_challenge, expected_origins=origins)
    check_authenticator_data(auth_data, expected_rp_id=expected_rp_id)
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=expected_challenge,
            expected_rp_id=expected_rp_id, expected_origin=list(origins),
            require_user_verification=True,
        )
    except WebAuthnException as exc:
        raise InvalidPasskeyResponse(f"The new passkey could not be verified: {exc}") from exc
    return VerifiedPasskey(
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=verified.aaguid,
        backup_eligible=auth_data.flags.be,
        backup_state=auth_data.flags.bs,
        user_verified=verified.user_verified,
        transports=tuple(t.value for t in credential.response.transports or ()),
    )


def authentication_options(
    *,
    rp_id: str,
    now: datetime,
    timeout: timedelta,
    allow_credentials: Sequence[ExistingCredential] | None = None,
    private_id: str | None = None,
) -> tuple[str, PendingChallenge]:
    """Options for ``navigator.credentials.get()``; discoverable unless credentials are given.

    The same options serve a modal request and conditional mediation (``mediation:
    "conditional"``), which requires an empty allowCredentials.
    """
    challenge = secrets.token_bytes(CHALLENGE_BYTES)
    options = generate_authentication_options(
        rp_id=rp_id,
        challenge=challenge,
        timeout=int(timeout.total_seconds() * 1000),
        allow_credentials=[_descriptor(c) for c in allow_credentials or ()],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    pending = PendingChallenge(
        ceremony=Ceremony.AUTHENTICATION, challenge=challenge, expires_at=now + timeout,
        private_id=private_id,
    )
    return options_to_json(options), pending


def assertion_credential_id(response_json: str) -> bytes:
    """The credential ID an assertion claims (unverified): what to look the passkey up by."""
    return _parse_authentication(response_json).raw_id


def verify_authentication(
    response_json: str,
    *,
    stored_passkey: StoredKey,
    expected_challenge: bytes,
    expected_origin: str | Sequence[str],
    expected_rp_id: str,
) -> VerifiedAssertion:
    """§7.2 Verifying an authentication assertion, against the stored passkey."""
    origins = _origins(expected_origin)
    credential = _parse_authentication(response_json)
    if credential.raw_id != stored_passkey.credential_id:
        raise InvalidPasskeyResponse("The assertion is for another passkey than the one checked.")
    # §7.2 step 6: the user handle returned must be the one the credential was made for.
    user_handle = credential.response.user_handle
    if user_handle is not None and user_handle != stored_passkey.user_handle:
        raise InvalidPasskeyResponse("The passkey's account handle does not match. Use your card.")
    try:
        client_data = parse_client_data_json(credential.response.client_data_json)
        auth_data = parse_authenticator_data(credential.response.authenticator_data)
    except UNREADABLE as exc:
        raise InvalidPasskeyResponse() from exc
    check_client_data(client_data, ceremony_type=ClientDataType.WEBAUTHN_GET,
                      expected_challenge=expected_challenge, expected_origins=origins)
    check_authenticator_data(auth_data, expected_rp_id=expected_rp_id)
    # §6.1.3: BE is fixed when the credential is made; a change means another credential source.
    if auth_data.flags.be != stored_passkey.backup_eligible:
        raise InvalidPasskeyResponse("The passkey's backup eligibility changed. Use your card.")
    try:
        # The sign count is checked below, after the signature: only a genuinely signed counter
        # going backwards is evidence of a cloned authenticator.
        verified = verify_authentication_response(
            credential=credential, expected_challenge=expected_challenge,
            expected_rp_id=expected_rp_id, expected_origin=list(origins),
            credential_public_key=stored_passkey.public_key, credential_current_sign_count=0,
            require_user_verification=True,
        )
    except WebAuthnException as exc:
        raise InvalidPasskeyResponse(
            f"The passkey's signature could not be verified: {exc}"
        ) from exc
    _check_sign_count(stored_passkey.sign_count, verified.new_sign_count)
    return VerifiedAssertion(
        credential_id=verified.credential_id,
        sign_count=verified.new_sign_count,
        backup_state=auth_data.flags.bs,
        user_verified=verified.user_verified,
    )


def _check_sign_count(stored: int, received: int) -> None:
    """§6.1.1 / §7.2 step 21: a counter that does not grow signals a possible clone.

    Authenticators that do not count (synced passkeys) always send 0; both 0 is fine.
    """
    if (stored or received) and received <= stored:
        raise SignCountRegression()


def _descriptor(credential: ExistingCredential) -> PublicKeyCredentialDescriptor:
    return PublicKeyCredentialDescriptor(id=credential.credential_id)


def _origins(expected_origin: str | Sequence[str]) -> tuple[str, ...]:
    return (expected_origin,) if isinstance(expected_origin, str) else tuple(expected_origin)


def _parse_registration(response_json: str) -> RegistrationCredential:
    try:
        return parse_registration_credential_json(response_json)
    except UNREADABLE as exc:
        raise InvalidPasskeyResponse("The browser's answer is not a passkey registration.") from exc


def _parse_authentication(response_json: str) -> AuthenticationCredential:
    try:
        return parse_authentication_credential_json(response_json)
    except UNREADABLE as exc:
        raise InvalidPasskeyResponse("The browser's answer is not a passkey sign-in.") from exc
