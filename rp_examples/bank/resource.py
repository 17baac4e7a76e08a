"""The transfer API, the resource server inside the bank: which access tokens may move money.

The API takes the IdP's RFC 9068 JWT access token (verified with the IdP's JWKS: ``typ
at+jwt``, ``iss``, ``aud`` the issuer, ``client_id`` the bank's, not expired) and reads the
authentication it stands for (``acr``, ``auth_time``). A large transfer needs an identity that
is current (``…:ial2-aal2`` or anything that implies it in the IdP's catalogue) and a login no
older than five minutes; a token short of that gets RFC 9470's challenge, which the bank's front
turns into a new authorization request (:mod:`rp_examples.bank.step_up`). Even then a large
transfer executes only with the customer's card signature over its text
(:mod:`rp_examples.bank.signature`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization

from rp_examples.bank.signature import VerifiedSignature
from rp_examples.bank.step_up import Requirement, challenge, unmet
from rp_examples.bank.store import Customer, Transfer
from rp_examples.bank.transfers import needs_signature, same_person

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105  (a media type)
ALGORITHMS = ["ES256", "RS256", "PS256"]
IDENTITY_CURRENT = "urn:jpki-idp:acr:ial2-aal2"
LARGE_MAX_AGE = 300  # seconds: a large transfer follows a login of the last five minutes
SMALL = Requirement()
STEP_UP_WORDS = "Confirm the transfer: sign in again with a current identity"


class TokenRefused(Exception):  # noqa: N818  (an answer of the API, not a bug)
    """Not a valid access token of the bank's IdP for the bank (401 invalid_token)."""


def verify_access_token(token: str, jwks: Mapping[str, Any], *, issuer: str, client_id: str,
                        now: int) -> dict[str, Any]:
    """The claims of a valid RFC 9068 access token issued to this bank."""
    try:
        keys = KeySet.import_key_set(cast("KeySetSerialization", dict(jwks)))
        decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
        claims = dict(decoded.claims)
        jwt.JWTClaimsRegistry(now=now, leeway=30, exp={"essential": True}).validate(claims)
    except (JoseError, ValueError) as error:
        raise TokenRefused(f"the access token does not verify: {error}") from error
    if str(decoded.header.get("typ", "")).lower() not in (ACCESS_TOKEN_TYPE,
                                                          "application/" + ACCESS_TOKEN_TYPE):
        raise TokenRefused("not an access token (typ at+jwt, RFC 9068)")
    if claims.get("iss") != issuer or claims.get("aud") != issuer:
        raise TokenRefused("the access token is not from the bank's identity provider")
    if claims.get("client_id") != client_id:
        raise TokenRefused("the access token was issued to another relying party")
    if not isinstance(claims.get("sub"), str):
        raise TokenRefused("the access token names no subject")
    return claims


@dataclass(frozen=True)
class Answer:
    """What the API answers: a status, a JSON body and maybe a WWW-Authenticate header."""

    status: int
    body: dict[str, Any]
    www_authenticate: str | None = None


def requirement(amount: int, limit: int, max_age: int = LARGE_MAX_AGE) -> Requirement:
    return Requirement((IDENTITY_CURRENT,), max_age) if needs_signature(amount, limit) \
        else SMALL


def decide_transfer(claims: Mapping[str, Any], customer: Customer | None,
                    transfer: Transfer | None, *, limit: int, now: int,
                    max_age: int = LARGE_MAX_AGE) -> Answer:
    """Whether the token's holder may execute ``transfer`` now; the API's answer."""
    if customer is None:
        return Answer(403, {"error": "no_account",
                            "error_description": "open an account first (/open-account)"})
    if transfer is None or transfer.sub != customer.sub:
        return Answer(404, {"error": "not_found", "error_description": "no such transfer"})
    if transfer.status != "pending":
        return Answer(409, {"error": "not_pending",
                            "error_description": f"the transfer is {transfer.status}"})
    auth_time = claims.get("auth_time")
    short = unmet(claims.get("acr"), auth_time if isinstance(auth_time, int) else None,
                  requirement(transfer.amount, limit, max_age), now)
    if short is not None:
        return Answer(401, {"error": "insufficient_user_authentication",
                            "error_description": STEP_UP_WORDS},
                      challenge(short, STEP_UP_WORDS))
    if needs_signature(transfer.amount, limit):
        refused = _signature_refusal(customer, transfer)
        if refused is not None:
            return refused
    return Answer(200, {"status": "executed", "transfer_id": transfer.id,
                        "amount": transfer.amount})


def _signature_refusal(customer: Customer, transfer: Transfer) -> Answer | None:
    signature = transfer.signature
    if signature is None:
        return Answer(403, {"error": "signature_required",
                            "error_description": "a transfer above the limit needs the "
                                                 "customer's card signature over its text"})
    signed = VerifiedSignature(text=transfer.text, signer_name=signature["signer_name"],
                               signer_address=signature.get("signer_address", ""),
                               certificate_serial=signature["certificate_serial"],
                               certificate_issuer=signature["certificate_issuer"],
                               request_id=signature["request_id"],
                               signed_at=signature["signed_at"], status=signature["status"])
    if not same_person(customer, signed):
        return Answer(403, {"error": "signer_mismatch",
                            "error_description": "the card that signed is not the account "
                                                 "holder's"})
    return None
