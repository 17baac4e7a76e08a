"""What an ID token or the userinfo answer says about the person: the standard claims
(``claims.release``), the age claims and ``verified_claims``, from the person's claims source.

The age claims and ``verified_claims`` come from the JPKI verification only (a current anchor,
and a session whose ``acr`` proved identity, IAL2): a person without one, whose anchor is not
current, or whose login the trust policy held to IAL1 (``media.<medium>.max_ial``) gets neither,
nor the identity claims drawn from the 4 info, and the ``acr`` says why (``…:ial1-aal2``,
docs/assurance.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from idp.accounts.claims import ClaimsSource
from idp.assurance import levels
from idp.oidc import claims as claim_rules
from idp.oidc import verified_claims
from idp.oidc.age import AGE_CLAIMS, age_claims
from idp.oidc.claims import ClaimsRequest
from idp.oidc.context import now


def id_token_claims(source: ClaimsSource, private_id: str, request: ClaimsRequest,
                    allowed: frozenset[str], *, issuer: str, auth_time: int,
                    acr: str | None) -> dict[str, Any]:
    wanted = request.get("id_token", {})
    return _disclose(source, private_id, wanted, set(wanted), allowed, issuer, auth_time,
                     levels.proves_identity(acr))


def userinfo_claims(source: ClaimsSource, private_id: str, scope: Iterable[str],
                    request: ClaimsRequest, allowed: frozenset[str], *, issuer: str,
                    auth_time: int, acr: str | None,
                    read: Callable[[bool], Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """``read``: the person's claims as ``source.claims_for`` answers them (by ``proven``),
    already read with the access token (``ClaimsSource.along``); else they are read here."""
    wanted = request.get("userinfo", {})
    names = claim_rules.scope_claims(scope) | set(wanted)
    return _disclose(source, private_id, wanted, names, allowed, issuer, auth_time,
                     levels.proves_identity(acr), read)


def _disclose(source: ClaimsSource, private_id: str, wanted: Mapping[str, Any],
              names: set[str], allowed: frozenset[str], issuer: str,
              auth_time: int, proven: bool,
              read: Callable[[bool], Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """``proven``: the grant's acr proved the person's identity (IAL2); without it nothing
    verified is released, whatever the anchor's state now."""
    available = dict(read(proven) if read is not None else
                     source.claims_for(private_id, proven=proven))
    available.pop("verified_claims", None)
    for name in AGE_CLAIMS:  # only ever computed from the verified birth date
        available.pop(name, None)
    facts = None
    if proven and ("verified_claims" in names or names & set(AGE_CLAIMS)):
        facts = source.verification_for(private_id)
    if facts is not None:
        available.update(age_claims(facts.claims.get("birthdate"), auth_time))
    out = claim_rules.release(available, names, wanted, allowed)
    if "verified_claims" in wanted:
        verified = verified_claims.respond(wanted["verified_claims"], facts, allowed=allowed,
                                           issuer=issuer, auth_time=auth_time, now=now())
        if verified is not None:
            out["verified_claims"] = verified
    return out
