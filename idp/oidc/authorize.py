"""The authorization request (OIDC Core §3.1.2.1), validated in the order the specs demand.

First the client and its redirect URI: until both are verified no error may be sent to the
redirect URI (RFC 6749 §4.1.2.1, RFC 9700 §4.1.1: exact string match). Then everything else,
whose errors go back to the relying party with ``state`` and ``iss`` (RFC 9207).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from idp.assurance import levels
from idp.oidc.claims import ClaimsRequest, acr_request, consentable, parse_claims_parameter
from idp.oidc.clients import ClientInfo
from idp.oidc.errors import (
    InvalidRequestError,
    InvalidScopeError,
    OidcError,
    RedirectUriMismatchError,
    RepeatedParameterError,
    UnmetAuthenticationRequirementsError,
    UnsupportedResponseTypeError,
)
from idp.oidc.signing_details import parse_authorization_details

PROMPTS = frozenset({"none", "login", "consent"})
# The authorization request's parameters this IdP reads (OIDC Core §3.1.2.1, RFC 7636 §4.3).
PARAMETERS = ("client_id", "redirect_uri", "response_type", "response_mode", "scope", "state",
              "nonce", "code_challenge", "code_challenge_method", "prompt", "max_age",
              "acr_values", "claims", "authorization_details")


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    scope: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str
    prompt: frozenset[str]
    max_age: int | None
    acr_values: tuple[str, ...]
    acr_essential: bool
    claims: ClaimsRequest
    # The document of a ``jpki_signature`` authorization detail (signing_details.py), as JSON.
    document: dict[str, str] | None = None
    # A device authorization's interaction (idp.oidc.device): {"id"}; it ends by the person's
    # approval on the page, not with a code.
    device: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"client_id": self.client_id, "redirect_uri": self.redirect_uri,
                "scope": list(self.scope), "state": self.state, "nonce": self.nonce,
                "code_challenge": self.code_challenge, "prompt": sorted(self.prompt),
                "max_age": self.max_age, "acr_values": list(self.acr_values),
                "acr_essential": self.acr_essential, "claims": self.claims,
                "document": self.document, "device": self.device}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AuthorizationRequest:
        return cls(data["client_id"], data["redirect_uri"], tuple(data["scope"]), data["state"],
                   data["nonce"], data["code_challenge"], frozenset(data["prompt"]),
                   data["max_age"], tuple(data["acr_values"]), data["acr_essential"],
                   data["claims"], data.get("document"), data.get("device"))


def single_valued(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The request's parameters by name, each sent once: "Request and response parameters MUST
    NOT be included more than once" (RFC 6749 §3.1 for /authorize and /par, §3.2 for /token).
    A repeated one is refused, whichever endpoint, before anything else is read."""
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise RepeatedParameterError(
                f"the parameter {json.dumps(name[:64])} is sent more than once")
        params[name] = value
    return params


def check_redirect_uri(client: ClientInfo, params: dict[str, Any]) -> str:
    uri = params.get("redirect_uri")
    if not uri or uri not in client.redirect_uris:
        raise RedirectUriMismatchError(
            "the redirect_uri is not registered for this relying party; nothing was sent to it")
    return str(uri)


def parse(client: ClientInfo, params: dict[str, Any], *, require_nonce: bool) -> \
        AuthorizationRequest:
    """Validate the parameters after the client and redirect URI are known good."""
    if params.get("response_type") != "code":
        raise UnsupportedResponseTypeError()
    if params.get("response_mode") not in (None, "query"):
        raise InvalidRequestError("only response_mode=query is supported")
    scope = tuple(str(params.get("scope") or "").split())
    if "openid" not in scope:
        raise InvalidScopeError("the scope must include openid")
    refused = [s for s in scope if client.allowed_scopes is not None
               and s != "openid" and s not in client.allowed_scopes]
    if refused:
        raise InvalidScopeError(f"scope {' '.join(refused)} is not allowed for this client")
    _check_pkce(params)
    nonce = params.get("nonce")
    if require_nonce and not nonce:
        raise InvalidRequestError("nonce is required: bind the ID token to your session")
    prompt = frozenset(str(params.get("prompt") or "").split())
    if not prompt <= PROMPTS or ("none" in prompt and len(prompt) > 1):
        raise InvalidRequestError("prompt must be none, or any of login and consent")
    claims = parse_claims_parameter(params.get("claims"))
    if client.allowed_claims is not None:  # an administrator limited what it may ask for
        beyond = sorted(consentable((), claims) - set(client.allowed_claims))
        if beyond:
            raise InvalidRequestError(f"claims {', '.join(beyond)} are not allowed for this "
                                      "client")
    document = parse_authorization_details(params.get("authorization_details"))
    acr_values, essential = acr_request(claims)
    if not acr_values:
        acr_values = str(params.get("acr_values") or client.default_acr or "").split()
    if client.allowed_acrs is not None:  # an administrator limited the levels it may ask for
        acr_values = [v for v in acr_values if v in client.allowed_acrs]
    if essential and not any(levels.lookup(v) for v in acr_values):
        raise UnmetAuthenticationRequirementsError(
            "none of the essential acr values is offered by this IdP")
    return AuthorizationRequest(
        client_id=client.client_id, redirect_uri=str(params["redirect_uri"]), scope=scope,
        state=params.get("state"), nonce=nonce, code_challenge=str(params["code_challenge"]),
        prompt=prompt, max_age=_max_age(params.get("max_age")),
        acr_values=tuple(v for v in acr_values if levels.lookup(v)), acr_essential=essential,
        claims=claims, document=document.to_json() if document else None)


def _check_pkce(params: dict[str, Any]) -> None:
    """PKCE with S256 is required of every client (RFC 9700 §2.1.1, FAPI 2.0 §5.3.2.2)."""
    challenge = params.get("code_challenge")
    if not challenge:
        raise InvalidRequestError("code_challenge is required (PKCE with S256)")
    if params.get("code_challenge_method") != "S256":
        raise InvalidRequestError("code_challenge_method must be S256; plain is not accepted")
    if not 43 <= len(str(challenge)) <= 128:
        raise InvalidRequestError("code_challenge must be a base64url SHA-256 digest")


def _max_age(raw: Any) -> int | None:
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError) as error:
        raise InvalidRequestError("max_age must be a number of seconds") from error
    if value < 0:
        raise InvalidRequestError("max_age must not be negative")
    return value


def response_url(redirect_uri: str, issuer: str, state: str | None, **values: str) -> str:
    """The redirect back to the RP, with ``iss`` (RFC 9207) and ``state`` when given."""
    query = {**values, "iss": issuer}
    if state is not None:
        query["state"] = state
    parts = urlsplit(redirect_uri)
    joined = f"{parts.query}&{urlencode(query)}" if parts.query else urlencode(query)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, joined, ""))


def error_url(redirect_uri: str, issuer: str, state: str | None, error: OidcError) -> str:
    return response_url(redirect_uri, issuer, state, error=error.code,
                        error_description=error.description)
