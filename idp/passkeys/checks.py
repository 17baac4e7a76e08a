"""The steps of WebAuthn L3 §7.1/§7.2 that give a person a precise reason when they fail.

py_webauthn performs every step of the ceremonies; these run first, on the same parsed data, so
that a wrong origin, a wrong site, a stale challenge or a missing user verification each become
their own typed error with a message a person can act on, instead of one generic refusal.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from webauthn.helpers.structs import AuthenticatorData, ClientDataType, CollectedClientData

from idp.passkeys.errors import (
    ChallengeMismatch,
    InvalidPasskeyResponse,
    UserVerificationRequired,
    WrongOrigin,
    WrongRelyingParty,
)


def check_client_data(
    client_data: CollectedClientData,
    *,
    ceremony_type: ClientDataType,
    expected_challenge: bytes,
    expected_origins: Sequence[str],
) -> None:
    """§7.1 steps 7–10 / §7.2 steps 11–14: type, challenge and origin of clientDataJSON."""
    if client_data.type != ceremony_type:
        raise InvalidPasskeyResponse(
            f"The browser answered a {client_data.type} request where {ceremony_type} was asked."
        )
    if not hmac.compare_digest(client_data.challenge, expected_challenge):
        raise ChallengeMismatch()
    if client_data.origin not in expected_origins:
        raise WrongOrigin(
            f"The passkey was used on {client_data.origin}; open the IdP at "
            f"{' or '.join(expected_origins)} and try again."
        )
    # A cross-origin iframe must not be able to drive our ceremonies (§7.1 step 10, L3 topOrigin).
    if client_data.cross_origin:
        raise WrongOrigin("The passkey was used inside another site's frame. Open the IdP itself.")


def check_authenticator_data(auth_data: AuthenticatorData, *, expected_rp_id: str) -> None:
    """§7.1 steps 13–15 / §7.2 steps 15–17: rpIdHash, user present and user verified."""
    expected_hash = hashlib.sha256(expected_rp_id.encode("utf-8")).digest()
    if not hmac.compare_digest(auth_data.rp_id_hash, expected_hash):
        raise WrongRelyingParty(
            f"The passkey was made for another site, not for {expected_rp_id}. Choose a passkey "
            "saved for this IdP."
        )
    if not auth_data.flags.up:
        raise InvalidPasskeyResponse("Your device did not confirm you were present. Try again.")
    # UV is required by this IdP (not merely preferred): a passkey then stands for two factors,
    # possession of the device and its PIN or biometric (NIST SP 800-63B-4 §3.1.7, AAL2+).
    if not auth_data.flags.uv:
        raise UserVerificationRequired()
    # §6.1.3: backup state without backup eligibility is impossible for a sound authenticator.
    if auth_data.flags.bs and not auth_data.flags.be:
        raise InvalidPasskeyResponse("The authenticator reported an impossible backup state.")
