"""Names a person sees for their passkeys: a default from the authenticator model, and checks.

The AAGUID names the authenticator model (WebAuthn L3 §6.5.1). A few well-known passkey
providers publish theirs (passkey-authenticator-aaguid, the community list the providers
maintain); anything else gets a name from the device type, which the person may change.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from idp.passkeys.errors import InvalidPasskeyName
from idp.passkeys.models import MAX_NAME
from idp.passkeys.values import DeviceType, VerifiedPasskey

KNOWN_AAGUIDS = {
    "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager",
    "fbfc3007-154e-4ecc-8c0b-6e020557d7bd": "iCloud Keychain",
    "08987058-cadc-4b81-b6e1-30de50dcbe96": "Windows Hello",
    "bada5566-a7aa-401f-bd96-45619a55120d": "1Password",
}


def default_name(passkey: VerifiedPasskey, now: datetime) -> str:
    kind = KNOWN_AAGUIDS.get(passkey.aaguid)
    if kind is None:
        single = passkey.device_type is DeviceType.SINGLE_DEVICE
        kind = "Passkey on this device" if single else "Synced passkey"
    return f"{kind} ({now:%Y-%m-%d})"


def valid_name(name: str) -> str:
    """The name, trimmed; refused when empty, too long or carrying control characters."""
    cleaned = unicodedata.normalize("NFC", name).strip()
    if not 1 <= len(cleaned) <= MAX_NAME:
        raise InvalidPasskeyName()
    if any(unicodedata.category(ch).startswith("C") for ch in cleaned):
        raise InvalidPasskeyName("A passkey name cannot contain control characters.")
    return cleaned
