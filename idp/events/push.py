"""Push delivery (RFC 8935, SSF §6.1.1) from the events outbox, stream by stream, in order.

Like the back-channel logout outbox (``idp.oidc.logout_outbox``), with the lease on the stream:
a process *claims* a stream by moving its ``next_push_at`` past the lease, renewed before each
push, so one process pushes a stream at a time and a stream whose pusher died is taken again when
the lease runs out. A stream's events go in the order they were owed; the first failure that may
pass (a network error, a timeout, 5xx, 408, 429) stops the stream's round and waits
``push_retry_seconds``, doubled for each failure in a row (up to ``push_retry_max_seconds``),
before that event is tried again; after ``push_max_attempts`` it is given up and the next one
goes. Any other answer but 2xx (RFC 8935 §2.3: 400 with ``{"err", "description"}``, or 401/403)
means the receiver refused that SET: it is given up at once, not retried. Each push is a fresh
signature over the same claims (same ``jti``); a push whose outcome was lost in a crash is made
again, which a receiver recognises by the ``jti`` (RFC 8935 §2: at least once).

Nothing here runs in a request: the delivery thread of every ``idp serve`` worker
(:class:`EventsWorker`) and ``idp events deliver`` (cron) call :func:`deliver_due`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import requests
from sqlalchemy import or_, select, update

from idp.events import outbox, vocabulary
from idp.events.context import PUSH, EventsContext
from idp.events.models import FAILED, PENDING, SecurityEvent, Stream

log = logging.getLogger(__name__)
LEASE_MARGIN = 30.0  # seconds beyond one push's timeout before another process may take over
PER_ROUND = 100  # events pushed per stream per round
RETRYABLE_4XX = frozenset({408, 429})
SET_MEDIA_TYPE = "application/secevent+jwt"


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0  # given up: refused by the receiver, or out of attempts
    retrying: list[str] = field(default_factory=list)  # stream ids waiting to try again


def deliver_due(ctx: EventsContext, *, streams: int = 100) -> DeliveryReport:
    """Push the events of every push stream whose time has come, claiming each first."""
    now = time.time()
    with ctx.sessions() as db:
        due = db.scalars(select(Stream.stream_id).where(
            Stream.method == PUSH, Stream.next_push_at <= now,
            select(SecurityEvent.id).where(  # something it may be sent now
                SecurityEvent.stream_id == Stream.stream_id, SecurityEvent.state == PENDING,
                or_(Stream.status == "enabled",
                    SecurityEvent.event_type == vocabulary.STREAM_UPDATED))
            .exists()).order_by(Stream.next_push_at).limit(streams)).all()
    report = DeliveryReport()
    for stream_id in due:
        if _lease(ctx, stream_id, now, claim=True):
            _push_stream(ctx, stream_id, report)
    return report


def _push_stream(ctx: EventsContext, stream_id: str, report: DeliveryReport) -> None:
    with ctx.sessions() as db:  # read, then push with no transaction open
        stream = db.get(Stream, stream_id)
        if stream is None or stream.endpoint_url is None:
            return
        url, header, status = stream.endpoint_url, stream.authorization_header, stream.status
        owed = outbox.due(db, ctx.issuer, stream_id, status, PER_ROUND)
    for event in owed:
        if not event.consented:
            outbox.finish(ctx, event.id, outbox.DROPPED_NO_CONSENT)
            continue
        _lease(ctx, stream_id, time.time(), claim=False)
        error, retryable = _post(ctx, url, header, ctx.sign(event.claims))
        if error is None:
            outbox.finish(ctx, event.id, None)
            report.delivered += 1
        elif not retryable or event.attempts + 1 >= ctx.settings.push_max_attempts:
            outbox.finish(ctx, event.id, error, attempts=event.attempts + 1, state=FAILED)
            report.failed += 1
            log.warning("SET %s to stream %s given up: %s", event.jti, stream_id, error)
        else:
            _back_off(ctx, stream_id, event.id, error)
            report.retrying.append(stream_id)
            return
    _release(ctx, stream_id)


def _post(ctx: EventsContext, url: str, header: str | None, token: str) -> \
        tuple[str | None, bool]:
    """(None, _) when the receiver took the SET, else (why, whether to try again)."""
    headers = {"Content-Type": SET_MEDIA_TYPE, "Accept": "application/json"}
    if header:
        headers["Authorization"] = header
    try:
        answer = requests.post(url, data=token.encode(), headers=headers, allow_redirects=False,
                               timeout=ctx.settings.push_timeout_seconds)
    except requests.RequestException as error:
        return type(error).__name__, True
    if 200 <= answer.status_code < 300:
        return None, False
    retryable = answer.status_code >= 500 or answer.status_code in RETRYABLE_4XX
    return f"HTTP {answer.status_code}{_err(answer)}", retryable


def _err(answer: requests.Response) -> str:
    """RFC 8935 §2.3's error, when the receiver sent one."""
    try:
        body = answer.json()
    except ValueError:
        return ""
    if not isinstance(body, dict) or not isinstance(body.get("err"), str):
        return ""
    return f" {body['err']}: {str(body.get('description', ''))[:200]}"


def _lease(ctx: EventsContext, stream_id: str, now: float, *, claim: bool) -> bool:
    """Claim the stream (only if due), or renew the lease this process holds."""
    lease = now + ctx.settings.push_timeout_seconds + LEASE_MARGIN
    with ctx.sessions() as db, db.begin():
        due = (Stream.next_push_at <= now,) if claim else ()
        claimed = db.execute(update(Stream).where(Stream.stream_id == stream_id, *due)
                             .values(next_push_at=lease))
        return bool(claimed.rowcount)  # type: ignore[attr-defined]


def _back_off(ctx: EventsContext, stream_id: str, event_id: int, error: str) -> None:
    settings = ctx.settings
    with ctx.sessions() as db, db.begin():
        stream = db.get(Stream, stream_id)
        event = db.get(SecurityEvent, event_id)
        if stream is None or event is None:
            return
        stream.failures += 1
        event.attempts += 1
        event.last_error = error[:300]
        wait = min(settings.push_retry_seconds * 2 ** (stream.failures - 1),
                   settings.push_retry_max_seconds)
        stream.next_push_at = time.time() + wait
    log.warning("push to stream %s failed (%s); next try in %.0f s", stream_id, error, wait)


def _release(ctx: EventsContext, stream_id: str) -> None:
    """The round went through: the receiver answers; due again as soon as more is owed."""
    with ctx.sessions() as db, db.begin():
        db.execute(update(Stream).where(Stream.stream_id == stream_id).values(
            next_push_at=0.0, failures=0))


class EventsWorker:
    """A daemon thread that pushes due events every ``worker_interval_seconds`` until
    stopped."""

    def __init__(self, ctx: EventsContext) -> None:
        self._ctx = ctx
        self._interval = ctx.settings.worker_interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="events-outbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self._interval + self._ctx.settings.push_timeout_seconds * 2)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                deliver_due(self._ctx)
            except Exception:  # a database hiccup must not end the thread for good
                log.exception("Shared Signals delivery round failed")
