"""RFC 9470 (OAuth 2.0 Step Up Authentication Challenge) for resource servers and clients.

Pure Python, no web framework: a resource server reads the ``acr`` and ``auth_time`` of an
access token (a verified JWT access token's claims, RFC 9068, or an introspection response,
RFC 7662), decides whether they meet what the resource needs (:func:`unmet`), and if not
answers 401 with the header :func:`challenge` builds. The client reads that header back
(:func:`parse_challenge`) and turns it into the parameters of a new authorization request
(:func:`authorization_params`).

It lives here, next to the catalogue, rather than in a sample-RP folder: "meets" is the
catalogue's partial order (a token at ``…:ial2-aal2-card-now`` meets a requirement of
``…:ial2-aal2-now``), which only :mod:`idp.assurance.levels` knows, and this package is
already pure (import-linter checks it), so sample RPs import it without pulling in Flask or
SQLAlchemy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from idp.assurance.levels import lookup

ERROR = "insufficient_user_authentication"


@dataclass(frozen=True)
class Requirement:
    """What a resource needs: one of ``acr_values`` (in order of preference) and a login no
    older than ``max_age`` seconds."""

    acr_values: tuple[str, ...] = ()
    max_age: int | None = None


@dataclass(frozen=True)
class TokenAuth:
    """The authentication event an access token stands for."""

    acr: str | None
    auth_time: int | None

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> TokenAuth:
        """From a JWT access token's verified claims or an introspection response; a missing
        or ill-typed value is None (and then meets no requirement on it)."""
        acr, auth_time = claims.get("acr"), claims.get("auth_time")
        return cls(acr if isinstance(acr, str) else None,
                   auth_time if isinstance(auth_time, int) and not isinstance(auth_time, bool)
                   else None)


def acr_meets(acr: str | None, required: str) -> bool:
    """The token's ``acr`` is the required value or implies it in the catalogue's order."""
    if acr is None:
        return False
    if acr == required:
        return True
    have, want = lookup(acr), lookup(required)
    return have is not None and want is not None and have.implies(want)


def unmet(auth: TokenAuth, required: Requirement, now: int) -> Requirement | None:
    """None when the token meets ``required``; else the part it does not meet (what the
    challenge should name)."""
    acr_ok = not required.acr_values or any(acr_meets(auth.acr, v) for v in required.acr_values)
    age_ok = required.max_age is None or (
        auth.auth_time is not None and now - auth.auth_time <= required.max_age)
    if acr_ok and age_ok:
        return None
    return Requirement(() if acr_ok else required.acr_values,
                       None if age_ok else required.max_age)


def _quoted(value: str) -> str:
    r"""An RFC 6750 §3 quoted string: error_description allows no ``"`` nor ``\``."""
    if not all(0x20 <= ord(c) <= 0x7E and c not in '"\\' for c in value):
        raise ValueError(f"not allowed in a Bearer challenge parameter: {value!r}")
    return f'"{value}"'


def challenge(required: Requirement, description: str = "A stronger or more recent "
              "authentication is required", *, realm: str | None = None) -> str:
    """The ``WWW-Authenticate`` value of the 401 (RFC 9470 §3)."""
    params = [f"realm={_quoted(realm)}"] if realm is not None else []
    params += [f"error={_quoted(ERROR)}", f"error_description={_quoted(description)}"]
    if required.acr_values:
        params.append(f"acr_values={_quoted(' '.join(required.acr_values))}")
    if required.max_age is not None:
        params.append(f"max_age={_quoted(str(required.max_age))}")
    return "Bearer " + ", ".join(params)


@dataclass(frozen=True)
class StepUpChallenge:
    error: str
    description: str | None
    required: Requirement


_PARAM = re.compile(r'\s*([!#$%&\'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*'
                    r'("(?:[^"\\]|\\.)*"|[!#$%&\'*+\-.^_`|~0-9A-Za-z]+)\s*(,|$)')
_SCHEME = re.compile(r"(?:^|,)\s*Bearer(?:\s+|$)", re.IGNORECASE)


def parse_challenge(header: str) -> StepUpChallenge | None:
    """The step-up asked by a ``WWW-Authenticate`` value (its Bearer challenge); None when it
    is not an ``insufficient_user_authentication`` challenge or cannot be read."""
    scheme = _SCHEME.search(header)
    if scheme is None:
        return None
    params: dict[str, str] = {}
    at = scheme.end()
    while at < len(header):
        match = _PARAM.match(header, at)
        if match is None:
            break  # the next challenge's scheme, or junk: the Bearer parameters end here
        value = match.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params.setdefault(match.group(1).lower(), value)
        at = match.end()
    if params.get("error") != ERROR:
        return None
    max_age = params.get("max_age")
    try:
        age = int(max_age) if max_age is not None else None
    except ValueError:
        return None
    if age is not None and age < 0:
        return None
    return StepUpChallenge(ERROR, params.get("error_description"),
                           Requirement(tuple(params.get("acr_values", "").split()), age))


def authorization_params(required: Requirement, *, essential: bool = False) -> dict[str, str]:
    """The parameters to add to the new authorization request (RFC 9470 §5): ``acr_values``
    and ``max_age``; with ``essential`` the acr goes as an essential claim (OIDC Core §5.5.1.1)
    so that the IdP answers ``unmet_authentication_requirements`` rather than a lower level."""
    params: dict[str, str] = {}
    if required.acr_values:
        params["acr_values"] = " ".join(required.acr_values)
        if essential:
            params["claims"] = json.dumps({"id_token": {"acr": {
                "essential": True, "values": list(required.acr_values)}}})
    if required.max_age is not None:
        params["max_age"] = str(required.max_age)
    return params
