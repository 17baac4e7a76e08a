"""POST /token (RFC 6749 §3.2, §5.1, §5.2): one endpoint, served by the fast path.

``exchange`` is the endpoint: client authentication, then ``tokens.token_response``.
:class:`TokenRoute` is its shared route (``idp.web.fast``): the fast path in front of Flask
answers ``POST /token`` with a form body of known length (every real token request), Flask's
view the rest (a chunked or oversized body, say), both through the one renderer
(``idp.web.errors``) with the security headers of every answer (``idp.web.headers``). Profiled
in process, Flask's request handling (request context, cookie session, routing, form parsing,
hooks, response object) cost as much CPU as the exchange itself: 0.48 ms against 0.23 ms per
exchange for the same work done on the fast path.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from idp import metering, metrics
from idp.errors import IdpError
from idp.oidc import client_auth, tokens
from idp.oidc.context import OidcContext
from idp.oidc.errors import InvalidClientError
from idp.web import fast
from idp.web.fast import FORM, MAX_BODY, MAX_FIELDS, Route, parse_form
from idp.web.headers import NO_STORE
from idp.web.request import Answer, Call

log = logging.getLogger(__name__)
__all__ = ["FORM", "MAX_BODY", "MAX_FIELDS", "TokenRoute", "exchange", "flask_route"]
_CLAIMED_MAX = 200  # characters of an unauthenticated client_id kept in its refusal's entry


def exchange(ctx: OidcContext, form: dict[str, str], authorization: str | None, address: str,
             audiences: set[str] | None = None) -> dict[str, Any]:
    """The token endpoint: authenticate the client, then answer its grant (raises refusals)."""
    # The throttle's count is written after the session closed: it never waits for it.
    # A refused client authentication is audited (not the throttle's 429s that follow: the
    # throttle exists to make refused guesses cheap, and each entry is a durable write).
    try:
        presented = client_auth.presented(form, authorization)
        try:
            with ctx.client_throttle.attempt(presented.throttled_as(address),
                                             counts=(InvalidClientError,)), \
                    _SessionOnDemand(ctx.sessions) as database:
                client = client_auth.authenticate(
                    database, ctx.clients, presented, audiences=audiences or ctx.audiences(),
                    seen_jti=lambda jti, exp: ctx.remember_jti(database(), jti, exp))
        except InvalidClientError as error:  # once its session is closed
            tokens.record_refusal(ctx, None, form.get("grant_type"), error,
                                  claimed=presented.client_id[:_CLAIMED_MAX])
            raise
        metering.bind_client(client.client_id)  # the log line names it
        answer = tokens.token_response(ctx, client, form)
    except IdpError as error:
        metrics.token_request(form.get("grant_type"), error.code)
        raise
    metrics.token_request(form.get("grant_type"), "ok")
    return answer


class _SessionOnDemand:
    """An ORM session for client authentication, opened only if it needs the database (a client
    not in the cache, an assertion's jti to record). A cached client with a secret never does, and
    the exchange itself runs on prepared statements: an unused Session still cost ~30 µs of
    set-up and tear-down per request (profiled in process). Commits what was written on success."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._session: Session | None = None

    def __call__(self) -> Session:
        if self._session is None:
            self._session = self._sessions()
        return self._session

    def __enter__(self) -> _SessionOnDemand:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        with session:
            if kind is None and session.in_transaction():  # a client read, a jti to keep
                session.commit()


_form = parse_form  # the fast path's form parser (tests hold it equal to parse_qsl's)


class TokenRoute:
    """``POST /token`` as a shared route (``idp.web.fast``): the fast path for form bodies of
    known length (every real token request), Flask's view for the rest."""

    def __init__(self, ctx: OidcContext) -> None:
        self._ctx = ctx
        self._audiences = ctx.audiences()  # fixed by the issuer: computed once

    def __call__(self, call: Call) -> Answer:
        body = exchange(self._ctx, call.form(), call.header("Authorization"), call.remote_addr,
                        self._audiences)
        return Answer(body, headers=NO_STORE)

    def route(self) -> Route:
        return Route("POST", "/token", "oidc.token_route", self, body="form",
                     unexpected=_server_error)


def _server_error(error: Exception) -> Answer:
    """An unexpected failure on the fast path: logged, answered ``server_error`` (RFC 6749
    §5.2) without its details."""
    log.error("token request failed", exc_info=error)
    return Answer({"error": "server_error"}, 500, NO_STORE)


def flask_route(token: TokenRoute) -> Any:
    """``POST /token`` for what the fast path leaves to Flask; refusals go to the same
    renderer through the app's error handler."""
    return fast.flask_view(token)()
