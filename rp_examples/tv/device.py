"""The TV's side of the device authorization grant (RFC 8628): its backend asks the IdP for
codes, shows them on the TV screen with a QR code, and polls the token endpoint itself.

The device code never leaves this server: the TV's browser holds only a random handle (in the
signed cookie) naming its flow here. ``GET /screen`` is the TV screen; it reloads itself (a meta
refresh: a TV browser may run no script) and each load polls the IdP when the interval has
passed, never sooner, growing the interval by 5 s when the IdP answers ``slow_down``. Tokens
come once; their ID token is validated (Authlib: signature by the IdP's JWKS, iss, aud, exp)
before the login is kept. ``GET /login`` and ``POST /logout`` of the RP base are replaced here:
a TV has no redirect URI, and its logout ends the TV's session and revokes its refresh token (the
person's session at the IdP lives on their phone; ``GET /logout`` still only asks).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from flask import Flask, Response, jsonify, redirect, request, session

from rp_examples.common import Ask, current_login, render, state_of
from rp_examples.common import oidc as rp_oidc
from rp_examples.common.qr import qr_data_uri

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
SLOW_DOWN_STEP = 5  # RFC 8628 §3.5
DEFAULT_INTERVAL = 5  # RFC 8628 §3.2: when the IdP names none
_TIMEOUT = 10
_FLOW = "tv_flow"  # the session key of this TV's flow handle
WAITING, DENIED, EXPIRED, FAILED = "waiting", "denied", "expired", "failed"


@dataclass
class Flow:
    """One device authorization of this TV: the codes, and where polling stands."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_at: float
    interval: int
    action: str | None = None
    next_poll: float = 0.0
    status: str = WAITING
    detail: str = ""
    polls: int = 0

    def seconds_left(self) -> int:
        return max(0, int(self.expires_at - time.monotonic()))


class Flows:
    """Flows by handle (in memory: one process, a sample RP); finished ones are dropped."""

    def __init__(self) -> None:
        self._items: dict[str, Flow] = {}
        self.refresh_tokens: dict[str, str] = {}  # login handle -> refresh token (for logout)
        self._lock = threading.Lock()

    def add(self, flow: Flow) -> str:
        handle = secrets.token_urlsafe(18)
        with self._lock:
            now = time.monotonic()
            self._items = {h: f for h, f in self._items.items() if f.expires_at > now - 600}
            self._items[handle] = flow
        return handle

    def get(self, handle: str | None) -> Flow | None:
        return self._items.get(handle or "")

    def drop(self, handle: str | None) -> None:
        with self._lock:
            self._items.pop(handle or "", None)


def _metadata(client: Any) -> dict[str, Any]:
    found: dict[str, Any] = client.load_server_metadata()
    return found


def start(client: Any, client_id: str, scope: str, ask: Ask | None) -> Flow:
    """RFC 8628 §3.1: ask the IdP for codes."""
    form = {"client_id": client_id, "scope": (ask.scope if ask and ask.scope else scope)}
    if ask and ask.acr_values:
        form["acr_values"] = ask.acr_values
    answer = requests.post(_metadata(client)["device_authorization_endpoint"], data=form,
                           timeout=_TIMEOUT)
    body = answer.json()
    if answer.status_code != 200:
        raise OAuthError(error=body.get("error"), description=body.get("error_description"))
    return Flow(device_code=body["device_code"], user_code=body["user_code"],
                verification_uri=body["verification_uri"],
                verification_uri_complete=body.get("verification_uri_complete")
                or body["verification_uri"],
                expires_at=time.monotonic() + int(body["expires_in"]),
                interval=int(body.get("interval") or DEFAULT_INTERVAL))


def poll(client: Any, client_id: str, flow: Flow) -> dict[str, Any] | None:
    """One poll when it is due (RFC 8628 §3.4, §3.5): the token response, or None (the flow's
    status says why)."""
    now = time.monotonic()
    if flow.status != WAITING or now < flow.next_poll:
        return None
    if now >= flow.expires_at:
        flow.status = EXPIRED
        return None
    answer = requests.post(_metadata(client)["token_endpoint"], timeout=_TIMEOUT, data={
        "grant_type": GRANT_TYPE, "device_code": flow.device_code, "client_id": client_id})
    flow.polls += 1
    body: dict[str, Any] = answer.json()
    if answer.status_code == 200:
        return body
    error = body.get("error")
    if error == "slow_down":
        flow.interval += SLOW_DOWN_STEP
    elif error != "authorization_pending":
        flow.status = {"access_denied": DENIED, "expired_token": EXPIRED}.get(
            str(error), FAILED)
        flow.detail = str(body.get("error_description", error))
    flow.next_poll = time.monotonic() + flow.interval
    return None


def add_routes(app: Flask) -> None:
    rp = state_of(app)
    flows = Flows()
    app.extensions["tv_flows"] = flows

    def begin() -> Response:
        action = rp.profile.action(request.args.get("action", ""))
        try:
            flow = start(rp.client, rp.config.client_id, rp.profile.scope,
                         action.ask if action else None)
        except (OAuthError, requests.RequestException, ValueError, KeyError) as failure:
            return render("rp_error.html", 502, error=getattr(failure, "error", "unavailable"),
                          description=str(failure))
        flow.action = action.name if action else None
        flows.drop(session.get(_FLOW))
        session[_FLOW] = flows.add(flow)
        return redirect("/screen")  # type: ignore[return-value]

    def end() -> Response:
        handle = session.pop("handle", None)
        rp.store.end(handle)
        refresh = flows.refresh_tokens.pop(handle or "", None)
        if refresh:  # RFC 7009: the TV's grant ends with its session
            endpoint = _metadata(rp.client).get("revocation_endpoint")
            if endpoint:
                requests.post(endpoint, timeout=_TIMEOUT, data={
                    "token": refresh, "token_type_hint": "refresh_token",
                    "client_id": rp.config.client_id})
        return redirect("/")  # type: ignore[return-value]

    # The base's code flow routes do not fit a device: replaced by the device flow's.
    app.view_functions["login"] = begin
    app.view_functions["logout"] = end

    def advance() -> Flow | None:
        """This TV's flow, polled once if due; a login when the tokens came."""
        handle = session.get(_FLOW)
        flow = flows.get(handle)
        if flow is None:
            return None
        try:
            token = poll(rp.client, rp.config.client_id, flow)
            if token is not None:
                _log_in(app, flows, token, flow.action)
                flows.drop(handle)
                session.pop(_FLOW, None)
        except (OAuthError, requests.RequestException, ValueError, KeyError) as failure:
            flow.status, flow.detail = FAILED, str(failure)
        return flow

    @app.get("/screen")
    def screen() -> Response:
        flow = advance()
        if flow is None or session.get(_FLOW) is None:  # none started, or signed in now
            return redirect("/")  # type: ignore[return-value]
        refresh = max(1, int(flow.next_poll - time.monotonic()) + 1) \
            if flow.status == WAITING else None
        return render("tv_screen.html", flow=flow, qr=qr_data_uri(flow.verification_uri_complete),
                      refresh=refresh)

    @app.get("/screen/status")
    def screen_status() -> Response:
        flow = advance()
        body: dict[str, Any] = {"logged_in": current_login() is not None}
        if flow is not None and session.get(_FLOW) is not None:
            body.update(status=flow.status, user_code=flow.user_code, interval=flow.interval,
                        verification_uri=flow.verification_uri,
                        verification_uri_complete=flow.verification_uri_complete,
                        expires_in=flow.seconds_left(), polls=flow.polls)
        else:
            body["status"] = "signed_in" if body["logged_in"] else "none"
        return jsonify(body)


def _log_in(app: Flask, flows: Flows, token: dict[str, Any], action: str | None) -> None:
    """Keep the login the tokens bring, once their ID token is validated."""
    rp = state_of(app)
    claims = rp.client.parse_id_token(token, nonce=None)  # no nonce in the device flow
    if claims is None:
        raise ValueError("the token response has no ID token")
    made = rp_oidc.login_from_token(rp.client, {**token, "userinfo": dict(claims)},
                                    userinfo=rp.profile.userinfo, action=action)
    rp.store.end(session.get("handle"))
    handle = rp.store.start(made)
    session["handle"] = handle
    if token.get("refresh_token"):
        flows.refresh_tokens[handle] = str(token["refresh_token"])
