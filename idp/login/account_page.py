"""``/account``: the person's own page (HTML, Japanese by default; JSON with Accept).

It shows the private ID, its anchor and last check, the 4 info (current and history), the
passkeys (rename, remove), the relying parties consented to (revoked through
``/account/consents``) and recent sign-ins. POSTs carry ``X-CSRF-Token``: an HMAC of the login
session id, so a token is worthless outside the session that got it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, render_template, request
from sqlalchemy import desc, select

from idp import i18n
from idp.accounts import sessions as login_sessions
from idp.accounts.models import LoginSession, PrivateId
from idp.login import anchor_records
from idp.login.routes import BadBodyError, CsrfRefusedError, LoginError, json_object
from idp.passkeys.service import PasskeyService
from idp.passkeys.summaries import PasskeySummary

# Removing the last passkey needs a card login this recent (docs/passkeys.md, Rules).
FRESH_CARD_LOGIN_SECONDS = 600
RECENT_SIGN_INS = 10

ConsentLister = Callable[[str], list[dict[str, Any]]]


class AccountLoginRequiredError(LoginError):
    """Sign in first: open a service that uses this IdP and sign in with your My Number Card
    or a passkey, then come back to /account."""

    code = "login_required"
    status = 401


def method_of(amr: tuple[str, ...] | list[str]) -> str:
    """How a session was made, from its RFC 8176 amr: the card asks a PIN, a passkey a user
    verification."""
    return "card" if "pin" in amr else "passkey" if "user" in amr else "other"


def fresh_card_login(active: login_sessions.ActiveSession, now: int) -> bool:
    return method_of(active.amr) == "card" and now - active.auth_time <= FRESH_CARD_LOGIN_SECONDS


def passkey_view(summary: PasskeySummary) -> dict[str, Any]:
    return {"id": summary.id, "name": summary.name, "device_type": summary.device_type.value,
            "synced": summary.synced, "backup_state": summary.backup_state,
            "aaguid": summary.aaguid, "created_at": summary.created_at.isoformat(),
            "last_used_at": summary.last_used_at.isoformat() if summary.last_used_at else None,
            "enrolled_anchor": {"issuer": summary.enrolled_anchor.issuer,
                                "serial": summary.enrolled_anchor.serial}}


class AccountPage:
    def __init__(self, service: PasskeyService, cookie_secret: str, default_language: str,
                 consents: ConsentLister) -> None:
        self.service = service
        self.cookie_secret = cookie_secret
        self.default_language = default_language
        self.consents = consents

    def language(self) -> str:
        return i18n.choose(request.args.get("lang"), request.cookies.get("lang"),
                           request.headers.get("Accept-Language"), self.default_language)

    def signed_in(self) -> login_sessions.ActiveSession:
        session_id = login_sessions.session_id_from_cookie(
            self.cookie_secret, request.cookies.get(login_sessions.COOKIE_NAME))
        with current_app.extensions["idp.sessions"]() as db:
            active = login_sessions.load(db, session_id)
        if active is None:
            raise AccountLoginRequiredError()
        return active

    def csrf(self, active: login_sessions.ActiveSession) -> str:
        return hmac.new(self.cookie_secret.encode(), f"account:{active.id}".encode(),
                        hashlib.sha256).hexdigest()

    def checked(self, active: login_sessions.ActiveSession) -> dict[str, Any]:
        if not hmac.compare_digest(request.headers.get("X-CSRF-Token", ""), self.csrf(active)):
            raise CsrfRefusedError()
        return json_object()

    def view(self, active: login_sessions.ActiveSession) -> dict[str, Any]:
        pid = active.private_id
        with current_app.extensions["idp.sessions"]() as db:
            person = db.get(PrivateId, pid)
            found = anchor_records.anchors(db, pid)
            history = anchor_records.basic4_history(db, pid)
            rows = db.scalars(select(LoginSession).where(LoginSession.private_id == pid)
                              .order_by(desc(LoginSession.auth_time)).limit(RECENT_SIGN_INS))
            sign_ins = [{"at": r.auth_time, "method": method_of(r.amr), "acr": r.acr,
                         "amr": list(r.amr), "current": r.id == active.id} for r in rows]
        anchors = [{"issuer": a.issuer, "serial": a.serial, "state": a.state,
                    "last_checked_at": a.last_checked_at.isoformat() if a.last_checked_at
                    else None, "last_result": a.last_result} for a in found]
        return {
            "private_id": pid, "state": person.state if person else "unknown",
            "session": {"acr": active.acr, "amr": list(active.amr), "auth_time": active.auth_time,
                        "fresh_card_login": fresh_card_login(active, int(time.time()))},
            "anchor": anchors[0] if anchors else None, "anchor_history": anchors[1:],
            "basic4": next((h for h in history if h["current"]), None), "basic4_history": history,
            "passkeys": [passkey_view(p) for p in self.service.list_passkeys(pid)],
            "consents": self.consents(pid), "sign_ins": sign_ins,
            "csrf_token": self.csrf(active)}

    # -- routes ---------------------------------------------------------------------------------
    def show(self) -> Any:
        language = self.language()
        wants_json = request.accept_mimetypes.best == "application/json"
        try:
            active = self.signed_in()
        except AccountLoginRequiredError as error:
            if wants_json:
                raise
            return render_template("account/login_needed.html", lang=language,
                                   t=lambda key, **v: i18n.translate(language, key, **v),
                                   error=error), 401
        view = self.view(active)
        if wants_json:
            return jsonify(view)
        return render_template("account/account.html", view=view, lang=language,
                               t=lambda key, **v: i18n.translate(language, key, **v))

    def rename(self, passkey_id: str) -> Any:
        active = self.signed_in()
        name = self.checked(active).get("name")
        if not isinstance(name, str):
            raise BadBodyError('send {"name": "..."}')
        return jsonify({"passkey": passkey_view(
            self.service.rename(active.private_id, passkey_id, name))})

    def remove(self, passkey_id: str) -> Any:
        active = self.signed_in()
        self.checked(active)
        self.service.remove(active.private_id, passkey_id,
                            fresh_card_login=fresh_card_login(active, int(time.time())))
        return jsonify({"removed": passkey_id})


def install(app: Flask, service: PasskeyService, cookie_secret: str, default_language: str,
            consents: ConsentLister) -> None:
    page = AccountPage(service, cookie_secret, default_language, consents)
    bp = Blueprint("account", __name__)
    bp.add_url_rule("/account", "show", page.show, methods=["GET"])
    bp.add_url_rule("/account/passkeys/<passkey_id>/rename", "rename", page.rename,
                    methods=["POST"])
    bp.add_url_rule("/account/passkeys/<passkey_id>/remove", "remove", page.remove,
                    methods=["POST"])
    app.register_blueprint(bp)
