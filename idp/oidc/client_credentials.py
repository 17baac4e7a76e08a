"""The client credentials grant (RFC 6749 §4.4), for one purpose: a relying party managing its
own Shared Signals stream (scope ``ssf``; idp.events).

Any confidential client (one that authenticates at the token endpoint: a secret or
``private_key_jwt``) may get it: the token lets it see and change only its own stream, about
people who consented to it. A public client (a TV, a browser app) cannot keep a credential and
is refused. The token is an RFC 9068 JWT naming the client (``sub`` = ``client_id``), living
``oidc.access_token_lifetime_seconds`` (short-lived, as the CAEP interoperability profile asks);
it has no grant or person behind it, so it is checked by signature and expiry alone
(``idp.events.access``) and cannot be revoked before it expires.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from idp.oidc.clients import ClientInfo
from idp.oidc.context import OidcContext, now
from idp.oidc.errors import InvalidScopeError, UnauthorizedClientError

SCOPE = "ssf"  # the only scope this grant gives
TOKEN_TYPE = "at+jwt"  # noqa: S105  (a JWT typ, RFC 9068 §2.1)


def token_response(ctx: OidcContext, client: ClientInfo, form: Mapping[str, str]) -> \
        dict[str, Any]:
    """RFC 6749 §4.4.3: an access token only (no refresh token, no ID token)."""
    if client.public:
        raise UnauthorizedClientError("a public client cannot use the client_credentials grant")
    requested = form.get("scope", SCOPE).split()
    if requested != [SCOPE]:
        raise InvalidScopeError(f"the client_credentials grant gives the scope {SCOPE!r} only")
    issued, lifetime = now(), ctx.settings.access_token_lifetime_seconds
    claims = {"iss": ctx.issuer, "sub": client.client_id, "aud": ctx.issuer,
              "client_id": client.client_id, "iat": issued, "exp": issued + lifetime,
              "jti": secrets.token_urlsafe(16), "scope": SCOPE}
    return {"access_token": ctx.keys.sign(claims, "ES256", typ=TOKEN_TYPE),
            "token_type": "Bearer", "expires_in": lifetime, "scope": SCOPE}
