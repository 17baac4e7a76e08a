"""The back office: the bank's link to the IdP's Shared Signals transmitter, the push endpoint
the IdP delivers to (RFC 8935), and the page listing what was received.

At start-up (in a background thread, retrying until the IdP answers) the bank gets a
``client_credentials`` token with scope ``ssf`` (its ``private_key_jwt``), creates or re-points
its stream to ``{base_url}/ssf/events`` with a push secret kept in its data directory (so a
restart keeps accepting what the IdP still owes), and asks for a verification event. Each push
is checked (the secret; the SET by the IdP's JWKS: :func:`events.verify_set`), stored once per
``jti`` and answered 202; ``session-revoked``, ``account-disabled`` and ``account-purged`` also
end the customer's sessions at the bank.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from flask import Flask, Response, jsonify, request

from rp_examples.bank import bank_of
from rp_examples.bank.events import SetRefused, describe, verify_set
from rp_examples.bank.stream import StreamClient, StreamError
from rp_examples.common import render, state_of

log = logging.getLogger(__name__)
PUSH_PATH = "/ssf/events"
ENDS_SESSIONS = frozenset({"session-revoked", "account-disabled", "account-purged"})
RETRY_SECONDS = (1, 2, 5, 10, 30)


@dataclass
class EventsLink:
    """The stream as the bank last saw it (shown on the back office page)."""

    secret: str
    stream_id: str | None = None
    error: str | None = None
    state: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    token: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _secret(app: Flask) -> str:
    """The push secret, kept across restarts in the data directory (mode 0600)."""
    path = bank_of(app).settings.data_dir / "push-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


def _ssf_token(app: Flask) -> str:
    """A client-credentials access token for the stream API (scope ssf), reused until a
    minute before it expires."""
    link: EventsLink = bank_of(app).events
    with link.lock:
        if link.token.get("expires_at", 0) - 60 < time.time():
            link.token = dict(state_of(app).client.fetch_access_token(
                grant_type="client_credentials", scope="ssf"))
        return str(link.token["access_token"])


def connect(app: Flask) -> EventsLink:
    """Create or re-point the bank's stream and ask for a verification event (once)."""
    bank, rp = bank_of(app), state_of(app)
    link: EventsLink = bank.events
    client = StreamClient(rp.config.issuer, lambda: _ssf_token(app))
    stream = client.ensure_push(rp.config.url(PUSH_PATH), f"Bearer {link.secret}")
    link.stream_id, link.error = stream.stream_id, None
    try:
        client.verify(stream.stream_id, link.state)
    except StreamError as refused:  # asked too soon after a restart: the link still works
        log.info("bank: no verification event this time: %s", refused)
    return link


def connect_in_background(app: Flask) -> threading.Thread:
    def run() -> None:
        for attempt in range(1000):
            try:
                connect(app)
                log.info("bank: Shared Signals stream %s", bank_of(app).events.stream_id)
                return
            except Exception as failure:
                bank_of(app).events.error = str(failure)[:300]
                time.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])

    thread = threading.Thread(target=run, name="bank-ssf", daemon=True)
    thread.start()
    return thread


def _refuse(err: str, description: str, status: int = 400) -> Response:
    answer = jsonify(err=err, description=description)  # RFC 8935 §2.3
    answer.status_code = status
    return answer


def receive(app: Flask) -> Response:
    """One pushed SET (RFC 8935 §2)."""
    bank, rp = bank_of(app), state_of(app)
    expected = f"Bearer {bank.events.secret}"
    if not hmac.compare_digest(request.headers.get("Authorization", ""), expected):
        return _refuse("authentication_failed", "the push did not carry the bank's secret")
    if request.mimetype != "application/secevent+jwt":
        return _refuse("invalid_request", "Content-Type must be application/secevent+jwt")
    token = request.get_data(as_text=True)
    try:
        try:
            event = verify_set(token, rp.client.fetch_jwk_set(), issuer=rp.config.issuer,
                               audience=rp.config.client_id)
        except SetRefused as refused:
            if refused.err != "invalid_key":
                raise
            event = verify_set(token, rp.client.fetch_jwk_set(force=True),  # keys rotated?
                               issuer=rp.config.issuer, audience=rp.config.client_id)
    except SetRefused as refused:
        return _refuse(refused.err, refused.description)
    except requests.RequestException:  # the IdP's keys cannot be fetched: 5xx, pushed again
        return _refuse("temporarily_unavailable", "the identity provider's keys cannot be "
                       "fetched now", 503)
    if event.short_type == "verification" and event.body.get("state") not in (
            None, bank.events.state):
        return _refuse("invalid_request", "a verification event with another state")
    if bank.store.add_event(event) and event.short_type in ENDS_SESSIONS and event.subject:
        rp.store.end_matching(sid=None, sub=event.subject)
    return Response("", 202)


def add_routes(app: Any) -> None:
    flask_app: Flask = app
    bank_of(flask_app).events = EventsLink(_secret(flask_app))

    @flask_app.post(PUSH_PATH)
    def ssf_events() -> Response:
        return receive(flask_app)

    @flask_app.get("/back-office")
    def back_office() -> Response:
        bank = bank_of(flask_app)
        rows = []
        for stored in bank.store.events():
            customer = bank.store.customer(stored.event.subject) if stored.event.subject \
                else None
            ja, en = describe(stored.event)
            rows.append({"event": stored.event, "received_at": stored.received_at,
                         "customer": customer, "line": {"ja": ja, "en": en}})
        return render("back_office.html", events=rows, link=bank.events)
