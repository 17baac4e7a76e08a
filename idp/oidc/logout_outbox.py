"""Reliable back-channel logout delivery (OpenID Connect Back-Channel Logout 1.0 §2.5–2.8).

Logging out writes one outbox row per RP in the logout's own transaction, so a crash after
the commit loses no notification. The request that logged out tries each row once at once;
rows that fail are retried by a background thread of every ``idp serve`` worker and by
``idp logout deliver`` (for cron), with exponential backoff, until ``backchannel_max_attempts``.

An attempt *claims* its row first by moving ``next_attempt_at`` past the attempt's timeout
(a lease): only one process sends a given row at a time, and a row whose sender died is due
again when the lease runs out. A 2xx answer delivers; a network error, a timeout, 5xx, 408 or
429 is retried; any other 4xx means the RP refused the token (§2.8) and is not retried.

Each attempt signs a new logout token (fresh ``iat``, ``exp``, ``jti``) from the stored ``sub``
and ``sid``: a token lives 2 minutes, retries run far longer, and an RP that stored the ``jti``
of a token it then failed to process would refuse the same ``jti`` as a replay.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idp.oidc.clients import ClientInfo
from idp.oidc.context import OidcContext
from idp.oidc.outbox_models import DELIVERED, FAILED, PENDING, LogoutDelivery

log = logging.getLogger(__name__)
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
TOKEN_LIFETIME = 120
LEASE_MARGIN = 30.0  # seconds beyond the timeout before another process may take the row
POLL_SECONDS = 5.0
RETRYABLE_4XX = frozenset({408, 429})


@dataclass(frozen=True)
class DeliveryReport:
    delivered: tuple[str, ...] = ()  # client_ids
    retrying: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()  # gave up: refused by the RP or out of attempts


def enqueue(db: Session, ctx: OidcContext, client: ClientInfo, *, sub: str,
            sid: str | None) -> str:
    """Owe ``client`` a logout token; leased to the caller, who should attempt it now."""
    now = time.time()
    row = LogoutDelivery(id=secrets.token_hex(16), client_id=client.client_id,
                         uri=str(client.backchannel_logout_uri), sub=sub, sid=sid,
                         state=PENDING, attempts=0, next_attempt_at=now + _lease(ctx),
                         created_at=int(now))
    db.add(row)
    return row.id


def deliver(ctx: OidcContext, ids: Iterable[str]) -> DeliveryReport:
    """Attempt the rows ``ids`` that the caller enqueued (and so holds the lease of)."""
    return _attempt_all(ctx, list(ids))


def deliver_due(ctx: OidcContext, *, limit: int = 100) -> DeliveryReport:
    """Attempt every pending row whose time has come, claiming each first."""
    now = time.time()
    with ctx.sessions() as db:
        due = db.scalars(select(LogoutDelivery.id).where(
            LogoutDelivery.state == PENDING, LogoutDelivery.next_attempt_at <= now)
            .order_by(LogoutDelivery.next_attempt_at).limit(limit)).all()
    return _attempt_all(ctx, [row_id for row_id in due if _claim(ctx, row_id, now)])


def _claim(ctx: OidcContext, row_id: str, now: float) -> bool:
    with ctx.sessions() as db, db.begin():
        claimed = db.execute(update(LogoutDelivery).where(
            LogoutDelivery.id == row_id, LogoutDelivery.state == PENDING,
            LogoutDelivery.next_attempt_at <= now).values(next_attempt_at=now + _lease(ctx)))
        return bool(claimed.rowcount)  # type: ignore[attr-defined]


def _attempt_all(ctx: OidcContext, ids: list[str]) -> DeliveryReport:
    outcome: dict[str, list[str]] = {DELIVERED: [], PENDING: [], FAILED: []}
    for row_id in ids:
        with ctx.sessions() as db:  # read, then send with no transaction open
            row = db.get(LogoutDelivery, row_id)
            if row is None or row.state != PENDING:
                continue
            client = ctx.clients.get(db, row.client_id)
            uri, token = row.uri, logout_token(ctx, client, row.sub, row.sid)
        error, retryable = _post(ctx, uri, token)
        with ctx.sessions() as db, db.begin():
            row = db.get(LogoutDelivery, row_id)
            if row is not None:
                _record(ctx, row, error, retryable)
                outcome[row.state].append(row.client_id)
    return DeliveryReport(tuple(outcome[DELIVERED]), tuple(outcome[PENDING]),
                          tuple(outcome[FAILED]))


def logout_token(ctx: OidcContext, client: ClientInfo, sub: str, sid: str | None) -> str:
    """Back-Channel Logout §2.4: iss, aud, iat, exp, jti, sub and/or sid, events; no nonce."""
    issued = int(time.time())
    claims = {"iss": ctx.issuer, "aud": client.client_id, "iat": issued,
              "exp": issued + TOKEN_LIFETIME, "jti": secrets.token_urlsafe(16), "sub": sub,
              "events": {BACKCHANNEL_EVENT: {}}}
    if sid:
        claims["sid"] = sid
    return ctx.keys.sign(claims, client.id_token_alg, typ="logout+jwt")


def _post(ctx: OidcContext, uri: str, token: str) -> tuple[str | None, bool]:
    """(None, _) when the RP took the token, else (why, whether to try again)."""
    try:
        answer = requests.post(uri, data={"logout_token": token}, allow_redirects=False,
                               timeout=ctx.settings.backchannel_timeout_seconds)
    except requests.RequestException as error:
        return f"{type(error).__name__}", True
    if 200 <= answer.status_code < 300:
        return None, False
    retryable = answer.status_code >= 500 or answer.status_code in RETRYABLE_4XX
    return f"HTTP {answer.status_code}", retryable


def _record(ctx: OidcContext, row: LogoutDelivery, error: str | None, retryable: bool) -> None:
    now = time.time()
    row.attempts += 1
    row.last_error = error
    if error is None or not retryable or row.attempts >= ctx.settings.backchannel_max_attempts:
        row.state = DELIVERED if error is None else FAILED
        row.finished_at = int(now)
    else:
        row.next_attempt_at = now + ctx.settings.backchannel_retry_seconds * 2 ** (
            row.attempts - 1)
    if error is not None:
        log.warning("back-channel logout to %s: attempt %d failed (%s)%s", row.client_id,
                    row.attempts, error, "; giving up" if row.state == FAILED else "")


def _lease(ctx: OidcContext) -> float:
    return ctx.settings.backchannel_timeout_seconds + LEASE_MARGIN


class LogoutWorker:
    """A daemon thread that delivers due rows every ``interval`` seconds until stopped."""

    def __init__(self, ctx: OidcContext, interval: float = POLL_SECONDS) -> None:
        self._ctx = ctx
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="logout-outbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self._interval + self._ctx.settings.backchannel_timeout_seconds * 2)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                deliver_due(self._ctx)
            except Exception:  # a database hiccup must not end the thread for good
                log.exception("back-channel logout delivery round failed")
