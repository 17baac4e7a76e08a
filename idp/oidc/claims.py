"""Standard claims: scope → claim mapping (OIDC Core §5.4) and the ``claims`` request
parameter (§5.5), with the distinction between a claim requested as ``null`` (default) and one
not requested at all, ``essential``, ``value`` and ``values``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from idp.oidc.errors import InvalidRequestError

# birthdate and gender are also offered as scopes of their own, so an RP can ask for one of the
# 4 info without the whole profile.
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": ("name", "family_name", "given_name", "middle_name", "nickname",
                "preferred_username", "profile", "picture", "website", "gender", "birthdate",
                "zoneinfo", "locale", "updated_at"),
    "address": ("address",),
    "birthdate": ("birthdate",),
    "gender": ("gender",),
}
SCOPES_SUPPORTED = ("openid", "offline_access", *SCOPE_CLAIMS)
# Claims about the authentication itself: never subject to consent.
PROTOCOL_CLAIMS = frozenset({"sub", "acr", "amr", "auth_time", "nonce", "azp", "sid"})
CLAIMS_SUPPORTED = sorted({c for cs in SCOPE_CLAIMS.values() for c in cs} | PROTOCOL_CLAIMS
                          | {"iss", "aud", "exp", "iat"})
ClaimsRequest = dict[str, dict[str, Any]]


def parse_claims_parameter(raw: str | None) -> ClaimsRequest:
    """The ``claims`` parameter as {"id_token": {...}, "userinfo": {...}}; invalid → error."""
    if not raw:
        return {}
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as error:
        raise InvalidRequestError("the claims parameter is not JSON") from error
    if not isinstance(value, dict):
        raise InvalidRequestError("the claims parameter must be a JSON object")
    parsed: ClaimsRequest = {}
    for member in ("id_token", "userinfo"):
        requested = value.get(member) or {}
        if not isinstance(requested, dict) or any(
                v is not None and not isinstance(v, dict) for v in requested.values()):
            raise InvalidRequestError(f"claims.{member} must map claim names to null or objects")
        parsed[member] = requested
    return parsed


def scope_claims(scope: Iterable[str]) -> set[str]:
    return {claim for s in scope for claim in SCOPE_CLAIMS.get(s, ())}


def consentable(scope: Iterable[str], request: ClaimsRequest) -> frozenset[str]:
    """Every claim about the person this request could release (what consent is about)."""
    names = scope_claims(scope) | set(request.get("id_token", {})) | set(
        request.get("userinfo", {}))
    return frozenset(names - PROTOCOL_CLAIMS)


def acr_request(request: ClaimsRequest) -> tuple[list[str], bool]:
    """(values, essential) of ``claims.id_token.acr``."""
    spec = request.get("id_token", {}).get("acr") or {}
    values = spec.get("values") or ([spec["value"]] if "value" in spec else [])
    return [str(v) for v in values], bool(spec.get("essential"))


def release(available: Mapping[str, Any], names: Iterable[str],
            requested: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    """The claims to put in a response: asked for, consented, present, and matching any
    ``value``/``values`` constraint (§5.5.1: a claim with a different value is left out)."""
    out: dict[str, Any] = {}
    for name in names:
        if name not in allowed or name not in available:
            continue
        spec = requested.get(name) or {}
        wanted = spec.get("values") or ([spec["value"]] if "value" in spec else None)
        if wanted is not None and available[name] not in wanted:
            continue
        out[name] = available[name]
    return out


def id_token_claims(available: Mapping[str, Any], request: ClaimsRequest,
                    allowed: frozenset[str]) -> dict[str, Any]:
    wanted = request.get("id_token", {})
    return release(available, wanted, wanted, allowed)


def userinfo_claims(available: Mapping[str, Any], scope: Iterable[str],
                    request: ClaimsRequest, allowed: frozenset[str]) -> dict[str, Any]:
    wanted = request.get("userinfo", {})
    return release(available, scope_claims(scope) | set(wanted), wanted, allowed)
