"""Who is asking: the receiver an access token from the client credentials grant names.

SSF §8 leaves authorization to the transmitter; ours is OAuth 2.0 (``authorization_schemes``:
RFC 6749): a Bearer token (RFC 6750 §2.1, header only) that this IdP signed as an RFC 9068
access token for a client (``sub`` = ``client_id``) with the scope ``ssf``
(``idp.oidc.client_credentials``), not expired, naming a client still registered.
"""

from __future__ import annotations

import time

from idp.errors import IdpError
from idp.events.context import EventsContext
from idp.events.errors import BearerError, InsufficientScopeError
from idp.oidc.client_credentials import SCOPE, TOKEN_TYPE


def receiver(ctx: EventsContext, authorization: str | None) -> str:
    """The client_id of the receiver whose token ``authorization`` carries; refused (401, or
    403 without the scope) otherwise."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise BearerError()
    try:
        claims = ctx.keys.verify(authorization[7:].strip(), typ=TOKEN_TYPE)
    except IdpError as error:
        raise BearerError("the access token is not a valid token of this IdP") from error
    client_id = claims.get("client_id")
    if claims.get("iss") != ctx.issuer or not isinstance(client_id, str) or \
            claims.get("sub") != client_id:
        raise BearerError("the access token was not issued to a client by this IdP")
    expires = claims.get("exp")
    if not isinstance(expires, int | float) or expires < time.time():
        raise BearerError("the access token has expired")
    if SCOPE not in str(claims.get("scope", "")).split():
        raise InsufficientScopeError()
    with ctx.sessions() as db:
        try:
            ctx.clients.get(db, client_id)
        except IdpError as error:
            raise BearerError("the client of this access token is no longer registered") \
                from error
    return client_id
