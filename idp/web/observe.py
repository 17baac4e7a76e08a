"""What every request leaves behind: its request id, the relying party it serves, one log line
and its metrics. For the Flask app (``install``) and for the WSGI fast path in front of it
(``idp.web.fast``), through the same functions.

- The request id (``idp.request_context``): the caller's ``X-Request-Id`` when well formed, else
  a new one; answered back as ``X-Request-Id`` (``idp.web.headers``), in the request's log line
  and in the audit entries it writes.
- The relying party (``idp.metering.bind_client``): the client of the interaction a
  ``/interaction/{uid}...`` route serves (its row is read once per request, shared with the
  browser binding check), of the interaction a card answer (``POST /card-requests/{id}``)
  belongs to, or the client a token request authenticated. Validity checks made while serving the
  request are charged to it; the log line names it.
- One log line per request on the ``idp.request`` logger: method, route, status, duration, request
  id, client_id. The path is logged as its route when it carries a value (``/interaction/<uid>``,
  ``/card-requests/<request_id>``: bearer-like ids stay out of logs) and never with its query.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from idp import db as dbm
from idp import metering, metrics
from idp.accounts.jpki_models import CardRequestRow
from idp.oidc.models import Interaction
from idp.request_context import bind_request_id
from idp.web.binding import RequestInteractions

requests_log = logging.getLogger("idp.request")

_STARTED = "idp_started"  # flask.g: perf_counter() at the start of the request
_INTERACTION_PATH = "/interaction/"
_CARD_ANSWER = "card_app.answer"
# Sign-in endpoints: their answers are the sign-ins counted in idp_logins_total.
LOGIN_ENDPOINTS = {"passkeys.sign_in_verify": "passkey", "card.proceed": "card"}


def start(request_id: str | None) -> str:
    """A request begins: bind its id (the caller's when well formed) and no relying party."""
    metering.bind_client(None)
    return bind_request_id(request_id)


def finish(method: str, path: str, status: int, started: float) -> None:
    """A request was answered: its log line and its count; its relying party is unbound (the
    thread may do other work before its next request)."""
    metrics.http_request(method, status)
    if requests_log.isEnabledFor(logging.INFO):
        requests_log.info("%s %s %d", method, path, status, extra={
            "http": {"method": method, "path": path, "status": status,
                     "duration_ms": round((time.perf_counter() - started) * 1000, 2)},
            "client_id": metering.current_client()})
    metering.bind_client(None)


def install(app: Flask, sessions: sessionmaker[Session]) -> None:
    """Bind every request's id and relying party; log and count every answer."""
    rows = RequestInteractions()
    reads = dbm.single_read_sessions(sessions)

    @app.before_request
    def begin() -> None:
        g.setdefault(_STARTED, time.perf_counter())
        start(request.headers.get("X-Request-Id"))
        args = request.view_args or {}
        if "uid" in args and request.path.startswith(_INTERACTION_PATH):
            with reads() as db:
                row = rows.load(db, args["uid"])  # the binding check reads it from flask.g
            metering.bind_client(row.client_id if row is not None else None)
        elif request.endpoint == _CARD_ANSWER and "request_id" in args:
            with reads() as db:
                metering.bind_client(_card_request_client(db, args["request_id"]))

    @app.after_request
    def end(response: Response) -> Response:
        rule = request.url_rule
        path = rule.rule if rule is not None and rule.arguments else request.path
        method = LOGIN_ENDPOINTS.get(request.endpoint or "")
        if method is not None:
            metrics.login(method, _outcome(response))
        finish(request.method, path, response.status_code, g.get(_STARTED, time.perf_counter()))
        return response


def _card_request_client(db: Session, request_id: str) -> str | None:
    found: str | None = db.execute(
        select(Interaction.client_id).join(
            CardRequestRow, CardRequestRow.interaction_uid == Interaction.uid)
        .where(CardRequestRow.id == request_id)).scalar_one_or_none()
    return found


def _outcome(response: Response) -> str:
    if response.status_code < 400:
        return "success"
    body = response.get_json(silent=True) if response.is_json else None
    code = body.get("error") if isinstance(body, dict) else None
    return outcome_of(response.status_code, code if isinstance(code, str) else None)


def outcome_of(status: int, code: str | None) -> str:
    """"success", or the refusal's error code (a bounded set: the IdP's own codes)."""
    if status < 400:
        return "success"
    return code if code is not None and len(code) <= 64 else "refused"
