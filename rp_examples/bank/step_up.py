"""RFC 9470 (OAuth 2.0 Step Up Authentication Challenge) as the bank speaks it: the transfer
API's ``WWW-Authenticate`` challenge, and the front's reading of it back into authorization
request parameters.

The bank knows the IdP's assurance values from its documentation (docs/assurance.md), as any
relying party would: ``…:ial2-…`` values say the identity is proven by a current JPKI signing
certificate, so they meet a requirement of ``urn:jpki-idp:acr:ial2-aal2``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

ERROR = "insufficient_user_authentication"
ACR_NS = "urn:jpki-idp:acr:"


@dataclass(frozen=True)
class Requirement:
    """One of ``acr_values`` (in order of preference) and a login no older than ``max_age``."""

    acr_values: tuple[str, ...] = ()
    max_age: int | None = None


def acr_meets(acr: str | None, required: str) -> bool:
    """The token's ``acr`` is the required value, or an IAL2 value of the IdP when the
    requirement is the plain ``…:ial2-aal2`` (any current identity)."""
    if acr is None:
        return False
    return acr == required or (required == ACR_NS + "ial2-aal2" and
                               acr.startswith(ACR_NS + "ial2-aal2"))


def unmet(acr: str | None, auth_time: int | None, required: Requirement,
          now: int) -> Requirement | None:
    """None when the token meets ``required``; else the part it does not meet."""
    acr_ok = not required.acr_values or any(acr_meets(acr, v) for v in required.acr_values)
    age_ok = required.max_age is None or (
        isinstance(auth_time, int) and now - auth_time <= required.max_age)
    if acr_ok and age_ok:
        return None
    return Requirement(() if acr_ok else required.acr_values,
                       None if age_ok else required.max_age)


def challenge(required: Requirement, description: str) -> str:
    """The 401's ``WWW-Authenticate`` value (RFC 9470 §3; RFC 6750 §3 quoted strings)."""
    params = [f'error="{ERROR}"', f'error_description="{description}"']
    if required.acr_values:
        params.append(f'acr_values="{" ".join(required.acr_values)}"')
    if required.max_age is not None:
        params.append(f'max_age="{required.max_age}"')
    return "Bearer " + ", ".join(params)


_PARAM = re.compile(r'\s*([A-Za-z_]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]+)\s*,?')


def parse_challenge(header: str) -> Requirement | None:
    """What an ``insufficient_user_authentication`` Bearer challenge asks; None for any
    other challenge (an invalid token, another scheme) or one that cannot be read."""
    if not header.lower().startswith("bearer "):
        return None
    params = {m.group(1).lower(): m.group(2).strip('"')
              for m in _PARAM.finditer(header[len("bearer "):])}
    if params.get("error") != ERROR:
        return None
    age = params.get("max_age")
    if age is not None and not age.isdigit():
        return None
    return Requirement(tuple(params.get("acr_values", "").split()),
                       int(age) if age is not None else None)


def authorization_params(required: Requirement) -> dict[str, str]:
    """RFC 9470 §5: the new authorization request asks for what the challenge named; the acr
    as an essential claim, so the IdP answers an error rather than a lower level."""
    params: dict[str, str] = {}
    if required.acr_values:
        params["acr_values"] = " ".join(required.acr_values)
        params["claims"] = json.dumps({"id_token": {"acr": {
            "essential": True, "values": list(required.acr_values)}}})
    if required.max_age is not None:
        params["max_age"] = str(required.max_age)
    return params
