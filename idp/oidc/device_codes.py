"""The codes of the device authorization grant (RFC 8628 §3.2, §5.1, §5.2, §6.1).

A *user code* is what the person reads off the TV and types on their phone: 8 characters of the
base-20 alphabet RFC 8628 §6.1 gives as its example (consonants only: no vowels, so no words, and
no digits or letters easily confused), shown as ``BCDF-GHJK``. 20^8 ≈ 2^34.5 codes; with the
attempts per address and browser throttled and codes living minutes, guessing a live one is
infeasible (§5.1). Typed input is normalised before it is compared: case, dashes and spaces do
not matter.

A *device code* is never shown to anyone, so it is a 256-bit random value (§5.2). Neither is
stored as it is (``idp.oidc.models.DeviceAuthorization``): the device code as its SHA-256, the
user code as an HMAC keyed with an instance secret, since 34.5 bits are searched in seconds from
a copy of the database with a plain hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # RFC 8628 §6.1
LENGTH = 8
GROUP = 4  # shown as two groups of four: BCDF-GHJK
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628 §3.4
_IGNORED = str.maketrans("", "", "- \t\u3000\u2010\u2011\u2012\u2013\u2014\u2212\uff0d")


class UserCodeFormatError(ValueError):
    """What was typed cannot be a user code (wrong length or characters)."""


def new_user_code() -> str:
    """A new user code, normalised (``BCDFGHJK``): each character drawn uniformly."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def new_device_code() -> str:
    return secrets.token_urlsafe(32)


def display(code: str) -> str:
    """``BCDFGHJK`` as the person sees it: ``BCDF-GHJK``."""
    return f"{code[:GROUP]}-{code[GROUP:]}"


def normalise(typed: str) -> str:
    """The user code the person meant: upper case, without dashes or spaces (full-width forms,
    as a Japanese keyboard types them, folded to ASCII). Raises :class:`UserCodeFormatError` when
    the result cannot be a user code, so that nothing is looked up for it."""
    folded = "".join(chr(ord(c) - 0xFEE0) if "\uff01" <= c <= "\uff5e" else c for c in typed)
    code = folded.translate(_IGNORED).upper()
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        raise UserCodeFormatError(f"a user code is {LENGTH} letters of {ALPHABET}")
    return code


def user_code_hash(code: str, key: str) -> str:
    """How a normalised user code is stored and found: its HMAC-SHA-256 under ``key``."""
    return hmac.new(key.encode(), f"user_code:{code}".encode(), hashlib.sha256).hexdigest()
