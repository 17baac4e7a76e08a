"""``verified_claims`` (OpenID Connect for Identity Assurance 1.0, final): the request's shape,
the consent it needs, and the response built from the person's JPKI verification.

What the IdP can say: trust framework ``jp_aml``, one ``electronic_signature`` evidence (the
JPKI signing certificate the person was anchored to), ``time`` = the anchor's last check, and the
4 info (plus the age claims computed from the verified birth date). Rules (IDA §5.7):

- a malformed request (wrong JSON types, beyond the limits below) is ``invalid_request``;
- anything that cannot be met is left out, never an error: a ``trust_framework``, ``time`` or
  ``evidence`` constraint inside ``verification`` that does not match leaves out the whole
  element; a claim that does not match its ``value``/``values``, is unsupported, unavailable or
  not consented is left out alone; ``essential`` changes none of this;
- an element with no claim left is left out too (its verification data, the certificate
  serial, is never released without a consented claim); with no element left, the
  ``verified_claims`` claim itself is absent;
- an array request is answered by an array of the elements that could be met.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from idp.accounts.claims import Verification
from idp.oidc.age import AGE_CLAIMS, age_claims
from idp.oidc.errors import InvalidRequestError

TRUST_FRAMEWORK = "jp_aml"
EVIDENCE = "electronic_signature"
CLAIMS = ("name", "family_name", "given_name", "birthdate", "gender", "address", *AGE_CLAIMS)
PREFIX = "verified_claims."  # consent names: verified_claims.name, ...
SIGNATURE_MEMBERS = ("signature_type", "issuer", "serial_number", "created_at")
# Limits: request elements in an array, evidence requests per element, claims per element,
# entries in a ``values`` array.
MAX_ELEMENTS, MAX_EVIDENCE, MAX_CLAIMS, MAX_VALUES = 8, 8, 32, 32


def signature_type(issuer: str) -> str:
    """No JPKI ``signature_type`` is registered: ours, namespaced by the issuer (IDA §12)."""
    return f"{issuer}/identifiers/signature_type/jpki_sign"


# -- the request ----------------------------------------------------------------------------
def check_request(where: str, spec: Any) -> None:
    """Raise invalid_request unless ``spec`` is a well-formed ``verified_claims`` request: an
    object or a non-empty array of objects, each with a ``verification`` object and a non-empty
    ``claims`` object (IDA §5.3)."""
    elements = spec if isinstance(spec, list) else [spec]
    if not elements or len(elements) > MAX_ELEMENTS:
        raise InvalidRequestError(f"{where} must be an object or 1 to {MAX_ELEMENTS} objects")
    for element in elements:
        if not isinstance(element, Mapping):
            raise InvalidRequestError(f"{where} must be an object or an array of objects")
        verification, claims = element.get("verification"), element.get("claims")
        if not isinstance(verification, Mapping):
            raise InvalidRequestError(f"{where}.verification must be an object")
        if not isinstance(claims, Mapping) or not 0 < len(claims) <= MAX_CLAIMS:
            raise InvalidRequestError(f"{where}.claims must be an object of 1 to {MAX_CLAIMS}"
                                      " claims")
        for name, claim in claims.items():
            _check_filter(f"{where}.claims.{json.dumps(name[:64])}", claim)
        for member in ("trust_framework", "time", "assurance_level"):
            _check_filter(f"{where}.verification.{member}", verification.get(member))
        _check_evidence(f"{where}.verification.evidence", verification.get("evidence"))


def _check_evidence(where: str, evidence: Any) -> None:
    if evidence is None:
        return
    if not isinstance(evidence, list) or not 0 < len(evidence) <= MAX_EVIDENCE:
        raise InvalidRequestError(f"{where} must be an array of 1 to {MAX_EVIDENCE} objects")
    for entry in evidence:
        if not isinstance(entry, Mapping):
            raise InvalidRequestError(f"{where} must be an array of objects")
        for member in ("type", *SIGNATURE_MEMBERS):
            _check_filter(f"{where}.{member}", entry.get(member))


def _check_filter(where: str, spec: Any) -> None:
    """null, or an object whose ``essential`` is a boolean, ``values`` an array and
    ``max_age`` a number of seconds (not negative)."""
    if spec is None:
        return
    if not isinstance(spec, Mapping):
        raise InvalidRequestError(f"{where} must be null or an object")
    if not isinstance(spec.get("essential", False), bool):
        raise InvalidRequestError(f"{where}.essential must be true or false")
    values = spec.get("values", [])
    if not isinstance(values, list) or len(values) > MAX_VALUES:
        raise InvalidRequestError(f"{where}.values must be an array of at most {MAX_VALUES}")
    max_age = spec.get("max_age", 0)
    if isinstance(max_age, bool) or not isinstance(max_age, int | float) or max_age < 0:
        raise InvalidRequestError(f"{where}.max_age must be a number of seconds")


def consent_names(spec: Any) -> set[str]:
    """``verified_claims.<claim>`` for every supported claim a (checked) request asks for."""
    elements = spec if isinstance(spec, list) else [spec]
    return {PREFIX + name for element in elements for name in element["claims"]
            if name in CLAIMS}


# -- the response ---------------------------------------------------------------------------
def respond(spec: Any, verification: Verification | None, *, allowed: frozenset[str],
            issuer: str, auth_time: int, now: int) -> Any:
    """The ``verified_claims`` value answering ``spec`` (object or array, like the request),
    or None when nothing can be released."""
    if verification is None:
        return None
    elements = spec if isinstance(spec, list) else [spec]
    out = [e for e in (_element(element, verification, allowed, issuer, auth_time, now)
                       for element in elements) if e is not None]
    if not out:
        return None
    return out if isinstance(spec, list) else out[0]


def _element(spec: Mapping[str, Any], facts: Verification, allowed: frozenset[str],
             issuer: str, auth_time: int, now: int) -> dict[str, Any] | None:
    wanted = spec["verification"]
    if not _matches(wanted.get("trust_framework"), TRUST_FRAMEWORK, None, now):
        return None
    verification: dict[str, Any] = {"trust_framework": TRUST_FRAMEWORK}
    if "time" in wanted:
        checked = _utc(facts.checked_at)
        if checked is None or not _matches(wanted["time"], _iso(checked), checked, now):
            return None
        verification["time"] = _iso(checked)
    if "evidence" in wanted:
        evidence = _evidence(wanted["evidence"], facts, issuer, now)
        if evidence is None:
            return None
        verification["evidence"] = [evidence]
    available = {**facts.claims, **age_claims(facts.claims.get("birthdate"), auth_time)}
    claims = {name: available[name] for name, claim in spec["claims"].items()
              if name in CLAIMS and PREFIX + name in allowed and name in available
              and _matches(claim, available[name], None, now)}
    return {"verification": verification, "claims": claims} if claims else None


def _evidence(requested: list[Any], facts: Verification, issuer: str, now: int) -> \
        dict[str, Any] | None:
    """Our one evidence if any requested entry (they are ORed) matches it, else None."""
    created = _utc(facts.anchored_at)
    ours: dict[str, Any] = {"type": EVIDENCE, "signature_type": signature_type(issuer),
                            "issuer": facts.issuer, "serial_number": facts.serial_hex,
                            "created_at": _iso(created) if created else None}
    for entry in requested:
        kind = entry.get("type") or {}
        if "values" in kind:  # evidence/type takes value only (IDA §5.5.1): cannot be met
            continue
        stamps = {"created_at": created}
        if _matches(kind, EVIDENCE, None, now) and all(
                _matches(entry.get(m), ours[m], stamps.get(m), now) for m in SIGNATURE_MEMBERS
                if m in entry):
            if "created_at" not in entry or created is None:
                ours.pop("created_at")
            return ours
    return None


def _matches(spec: Mapping[str, Any] | None, actual: Any, stamp: datetime | None,
             now: int) -> bool:
    """Whether ``actual`` meets ``value``, ``values`` and (for a time) ``max_age``."""
    if not spec:
        return True
    if "value" in spec and spec["value"] != actual:
        return False
    if "values" in spec and actual not in spec["values"]:
        return False
    if "max_age" in spec:
        return stamp is not None and now - stamp.timestamp() <= spec["max_age"]
    return True


def _utc(moment: datetime | None) -> datetime | None:
    """``moment`` in UTC (SQLite hands back naive datetimes, which are UTC here)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
