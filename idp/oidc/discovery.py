"""OpenID Provider metadata (OIDC Discovery 1.0 §3, RFC 8414, RFC 9126 §5, RFC 9207 §3,
Back-Channel Logout §2.1, RP-Initiated Logout §2.1, RFC 9396 §10, RFC 8628 §4)."""

from __future__ import annotations

from typing import Any

from idp.assurance import levels
from idp.oidc import client_credentials, verified_claims
from idp.oidc.claims import CLAIMS_SUPPORTED, SCOPES_SUPPORTED
from idp.oidc.clients import AUTH_METHODS, CLIENT_JWT_ALGS
from idp.oidc.device_codes import GRANT_TYPE
from idp.oidc.keys import ALGORITHMS
from idp.oidc.signing_details import TYPES_SUPPORTED


def metadata(issuer: str) -> dict[str, Any]:
    def url(path: str) -> str:
        return issuer + path

    auth_methods = [m for m in AUTH_METHODS if m != "none"]
    return {
        "issuer": issuer,
        "authorization_endpoint": url("/authorize"),
        "token_endpoint": url("/token"),
        "userinfo_endpoint": url("/userinfo"),
        "jwks_uri": url("/jwks"),
        "pushed_authorization_request_endpoint": url("/par"),
        "revocation_endpoint": url("/revoke"),
        "introspection_endpoint": url("/introspect"),
        "end_session_endpoint": url("/logout"),
        "device_authorization_endpoint": url("/device_authorization"),  # RFC 8628 §4
        "scopes_supported": [*SCOPES_SUPPORTED, client_credentials.SCOPE],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials",
                                  GRANT_TYPE],
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": list(ALGORITHMS),
        "userinfo_signing_alg_values_supported": [],
        "request_object_signing_alg_values_supported": CLIENT_JWT_ALGS,
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": CLIENT_JWT_ALGS,
        "revocation_endpoint_auth_methods_supported": [*auth_methods, "none"],
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "claims_supported": CLAIMS_SUPPORTED,
        "claims_parameter_supported": True,  # also for verified_claims (IDA §8)
        "trust_frameworks_supported": [verified_claims.TRUST_FRAMEWORK],
        "evidence_supported": [verified_claims.EVIDENCE],
        "claims_in_verified_claims_supported": list(verified_claims.CLAIMS),
        "request_parameter_supported": True,
        "request_uri_parameter_supported": False,
        "require_pushed_authorization_requests": False,
        "authorization_response_iss_parameter_supported": True,
        "acr_values_supported": levels.supported_values(),
        "prompt_values_supported": ["none", "login", "consent"],
        "claim_types_supported": ["normal"],
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": False,
        "ui_locales_supported": ["ja", "en"],
        "authorization_details_types_supported": list(TYPES_SUPPORTED),  # RFC 9396 §10
    }
