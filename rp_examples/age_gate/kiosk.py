"""The age gate's kiosk mode: a screen in the bar, the person's phone, and a ticket between them.

``GET /kiosk`` makes a ticket and shows its URL as a QR code, refreshing itself every few
seconds (a meta refresh: no script) until the ticket has a verdict, which it then shows.
``GET /kiosk/T`` (on the phone) remembers the ticket in the phone's cookie and starts the login;
after it, :func:`record` puts the verdict alone on the ticket (no ``sub``, no claim: the screen
learns adult / minor / unknown, nothing that names the person). Tickets live five minutes.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

from flask import Flask, Response, redirect, request, session

from rp_examples.common import Login, render, start_login, state_of
from rp_examples.common.qr import qr_data_uri

TICKET_SECONDS = 300
REFRESH_SECONDS = 2


class Tickets:
    def __init__(self) -> None:
        self._items: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def new(self) -> str:
        ticket = secrets.token_urlsafe(16)
        with self._lock:
            now = time.monotonic()
            self._items = {t: v for t, v in self._items.items() if v[0] > now}
            self._items[ticket] = (now + TICKET_SECONDS, None)
        return ticket

    def live(self, ticket: str) -> bool:
        item = self._items.get(ticket)
        return item is not None and item[0] > time.monotonic()

    def verdict(self, ticket: str) -> str | None:
        item = self._items.get(ticket)
        return item[1] if item else None

    def settle(self, ticket: str, verdict: str) -> bool:
        with self._lock:
            item = self._items.get(ticket)
            if item is None or item[0] <= time.monotonic() or item[1] is not None:
                return False
            self._items[ticket] = (item[0], verdict)
            return True


def record(login: Login) -> Any:
    """After a login on the phone: the verdict onto the ticket it came for, if any."""
    from rp_examples.age_gate import verdict

    ticket = session.pop("kiosk_ticket", None)
    if ticket:
        _tickets().settle(ticket, verdict(login) or "unknown")
    return None


def _tickets() -> Tickets:
    from flask import current_app

    tickets: Tickets = current_app.extensions["kiosk"]
    return tickets


def add_routes(app: Any) -> None:
    flask_app: Flask = app
    flask_app.extensions["kiosk"] = Tickets()

    @flask_app.before_request
    def kiosk_front() -> Any:
        kiosk = state_of(flask_app).config.kiosk or request.args.get("kiosk") == "1"
        if request.path == "/" and kiosk:
            return redirect("/kiosk")
        return None

    @flask_app.get("/kiosk")
    def screen() -> Response:
        tickets = _tickets()
        ticket = request.args.get("ticket", "")
        if not tickets.live(ticket):
            return redirect(f"/kiosk?ticket={tickets.new()}")  # type: ignore[return-value]
        link = state_of(flask_app).config.url(f"/kiosk/{ticket}")
        result = tickets.verdict(ticket)
        return render("kiosk.html", ticket=ticket, link=link, qr=qr_data_uri(link),
                      kiosk_verdict=result, refresh=None if result else REFRESH_SECONDS)

    @flask_app.get("/kiosk/<ticket>")
    def phone(ticket: str) -> Response:
        if not _tickets().live(ticket):
            return render("kiosk_phone.html", 404, gone=True)
        session["kiosk_ticket"] = ticket
        return start_login(state_of(flask_app).profile.ask, next_path="/kiosk/done")

    @flask_app.get("/kiosk/done")
    def phone_done() -> Response:
        return render("kiosk_phone.html", gone=False)
