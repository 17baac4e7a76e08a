"""Standard claims: scope → claim mapping (OIDC Core §5.4) and the ``claims`` request
parameter (§5.5), with the distinction between a claim requested as ``null`` (default) and one
not requested at all, ``essential``, ``value`` and ``values``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from idp.oidc import verified_claims
from idp.oidc.age import AGE_CLAIMS
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
    "age": tuple(AGE_CLAIMS),  # the age claims alone, never the birth date (idp/oidc/age.py)
}
SCOPES_SUPPORTED = ("openid", "offline_access", *SCOPE_CLAIMS)
# Claims about the authentication itself: never subject to consent.
PROTOCOL_CLAIMS = frozenset({"sub", "acr", "amr", "auth_time", "nonce", "azp", "sid"})
CLAIMS_SUPPORTED = sorted({c for cs in SCOPE_CLAIMS.values() for c in cs} | PROTOCOL_CLAIMS
                          | {"iss", "aud", "exp", "iat", "verified_claims"})
ClaimsRequest = dict[str, dict[str, Any]]


MEMBERS = ("id_token", "userinfo")
# How deep a claims request may nest. A verified_claims request (OpenID Connect for Identity
# Assurance 1.0 §6) nests about nine levels; far deeper is no request, only a way to exhaust the
# recursion of whatever serialises it next.
MAX_DEPTH = 16


def parse_claims_parameter(raw: str | Mapping[str, Any] | None) -> ClaimsRequest:
    """The ``claims`` parameter (JSON text, or an object from a request object) as
    {"id_token": {...}, "userinfo": {...}}, its shape checked here once (§5.5, §5.5.1) so that
    every later reader can trust it; anything else → invalid_request."""
    if not raw:
        return {}
    value = _loads(raw) if isinstance(raw, str) else raw
    if not isinstance(value, Mapping):
        raise InvalidRequestError("the claims parameter must be a JSON object")
    if _depth(value) > MAX_DEPTH:
        raise InvalidRequestError(f"the claims parameter nests deeper than {MAX_DEPTH} levels")
    # §5.5: top-level members other than id_token and userinfo are not understood: ignored.
    return {member: _claim_requests(member, value.get(member)) for member in MEMBERS}


def _loads(raw: str) -> Any:
    """JSON text; NaN and Infinity (which Python's parser would take) are not JSON."""
    try:
        return json.loads(raw, parse_constant=_not_json)
    except (ValueError, RecursionError) as error:  # too deep for the parser: no JSON we read
        raise InvalidRequestError("the claims parameter is not JSON") from error


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _depth(value: Any) -> int:
    """How deep ``value`` nests (a scalar is 0), without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        children = item.values() if isinstance(item, Mapping) else \
            item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, level)
            pending.extend((child, level + 1) for child in children)
    return deepest


def _claim_requests(member: str, requested: Any) -> dict[str, dict[str, Any] | None]:
    """``claims.id_token`` or ``claims.userinfo``: claim names, each null or an object whose
    ``essential`` is a boolean and ``values`` an array (§5.5.1); for ``acr`` (§5.5.1.1) the
    ``value`` a string and the ``values`` strings."""
    if requested is None:
        return {}
    if not isinstance(requested, Mapping):
        raise InvalidRequestError(f"claims.{member} must be a JSON object")
    for name, spec in requested.items():
        where = f"claims.{member}.{json.dumps(name[:64])}"  # JSON-escaped: safe in any answer
        if name == "verified_claims":
            verified_claims.check_request(where, spec)
            continue
        if spec is None:
            continue
        if not isinstance(spec, Mapping):
            raise InvalidRequestError(f"{where} must be null or an object")
        if not isinstance(spec.get("essential", False), bool):
            raise InvalidRequestError(f"{where}.essential must be true or false")
        if not isinstance(spec.get("values", []), list):
            raise InvalidRequestError(f"{where}.values must be an array")
        if name == "acr" and not all(isinstance(v, str) for v in [
                *spec.get("values", []), *([spec["value"]] if "value" in spec else [])]):
            raise InvalidRequestError(f"{where}.value and .values must be strings (acr values)")
    return dict(requested)


def scope_claims(scope: Iterable[str]) -> set[str]:
    return {claim for s in scope for claim in SCOPE_CLAIMS.get(s, ())}


def consentable(scope: Iterable[str], request: ClaimsRequest) -> frozenset[str]:
    """Every claim about the person this request could release (what consent is about); a
    claim inside ``verified_claims`` is its own: ``verified_claims.name``, ..."""
    names = scope_claims(scope)
    for member in MEMBERS:
        wanted = request.get(member, {})
        names |= set(wanted) - {"verified_claims"}
        if "verified_claims" in wanted:
            names |= verified_claims.consent_names(wanted["verified_claims"])
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
