"""``/account``: the person's own page (HTML, Japanese by default; JSON with Accept).

It shows the private ID, its anchor and last check, the 4 info (current and history), the
passkeys (rename, remove), the relying parties consented to (``/account/consents``, withdrawn
there) and recent sign-ins. Every POST under /account carries ``X-CSRF-Token``: one token, an
HMAC of the login session id (``web.request.session_csrf_token``), worthless outside the session
that got it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, jsonify, render_template

from idp.accounts import overview as accounts_overview
from idp.accounts import sessions as login_sessions
from idp.assurance.evidence import method_of
from idp.errors import LoginRequiredError
from idp.oidc import consent
from idp.oidc.context import OidcContext
from idp.passkeys.service import PasskeyService
from idp.passkeys.summaries import PasskeySummary
from idp.web import request as web
from idp.web.request import BadBodyError

# Removing the last passkey needs a card login this recent (docs/passkeys.md, Rules).
FRESH_CARD_LOGIN_SECONDS = 600


def fresh_card_login(active: login_sessions.ActiveSession, now: int) -> bool:
    return method_of(active.amr) == "card" and now - active.auth_time <= FRESH_CARD_LOGIN_SECONDS


def passkey_view(summary: PasskeySummary) -> dict[str, Any]:
    return {"id": summary.id, "name": summary.name, "device_type": summary.device_type.value,
            "synced": summary.synced, "backup_state": summary.backup_state,
            "aaguid": summary.aaguid, "created_at": summary.created_at.isoformat(),
            "last_used_at": summary.last_used_at.isoformat() if summary.last_used_at else None,
            "enrolled_anchor": {"issuer": summary.enrolled_anchor.issuer,
                                "serial": summary.enrolled_anchor.serial}}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def anchor_view(anchor: accounts_overview.AnchorView) -> dict[str, Any]:
    return {"issuer": anchor.issuer, "serial": anchor.serial, "state": anchor.state,
            "last_checked_at": _iso(anchor.last_checked_at), "last_result": anchor.last_result,
            "anchored_at": _iso(anchor.created_at),
            "not_after": _iso(datetime.fromtimestamp(anchor.not_after, UTC))
            if anchor.not_after is not None else None,
            "superseded_by": anchor.superseded_by}


class AccountPage:
    def __init__(self, oidc: OidcContext, passkeys: PasskeyService) -> None:
        self.oidc = oidc
        self.passkeys = passkeys

    def view(self, active: login_sessions.ActiveSession) -> dict[str, Any]:
        pid = active.private_id
        found = accounts_overview.overview(self.oidc.sessions, pid)
        anchors = [anchor_view(a) for a in found.anchors]
        history = list(found.basic4_history)
        return {
            "private_id": pid, "state": found.state,
            "session": {"acr": active.acr, "amr": list(active.amr), "auth_time": active.auth_time,
                        "fresh_card_login": fresh_card_login(active, int(time.time()))},
            "anchor": anchors[0] if anchors else None, "anchor_history": anchors[1:],
            "basic4": next((h for h in history if h["current"]), None), "basic4_history": history,
            "passkeys": [passkey_view(p) for p in self.passkeys.list_passkeys(pid)],
            "consents": consent.listed(self.oidc, pid),
            "sign_ins": [{"at": s.at, "method": method_of(s.amr), "acr": s.acr,
                          "amr": list(s.amr), "current": s.session_id == active.id}
                         for s in found.sign_ins],
            "csrf_token": web.session_csrf_token(active)}

    @staticmethod
    def checked(active: login_sessions.ActiveSession) -> dict[str, Any]:
        return web.checked_json(web.session_csrf_token(active))

    # -- routes ---------------------------------------------------------------------------------
    def show(self) -> Any:
        language = web.language()
        try:
            active = web.signed_in()
        except LoginRequiredError as error:
            if web.wants_json():
                raise
            return render_template("account/login_needed.html", error=error,
                                   **web.page_texts(language)), 401
        view = self.view(active)
        if web.wants_json():
            return jsonify(view)
        return render_template("account/account.html", view=view, **web.page_texts(language))

    def rename(self, passkey_id: str) -> Any:
        active = web.signed_in()
        name = self.checked(active).get("name")
        if not isinstance(name, str):
            raise BadBodyError('send {"name": "..."}')
        return jsonify({"passkey": passkey_view(
            self.passkeys.rename(active.private_id, passkey_id, name))})

    def remove(self, passkey_id: str) -> Any:
        active = web.signed_in()
        self.checked(active)
        self.passkeys.remove(active.private_id, passkey_id,
                             fresh_card_login=fresh_card_login(active, int(time.time())))
        return jsonify({"removed": passkey_id})

    def consents(self) -> Any:
        active = web.signed_in()
        return jsonify({"consents": consent.listed(self.oidc, active.private_id),
                        "csrf_token": web.session_csrf_token(active)})

    def withdraw_consent(self, client_id: str) -> Any:
        active = web.signed_in()
        web.require_csrf(web.session_csrf_token(active))
        return jsonify({"revoked": consent.withdraw(self.oidc, active.private_id, client_id)})


def blueprint(oidc: OidcContext, passkeys: PasskeyService) -> Blueprint:
    page = AccountPage(oidc, passkeys)
    bp = Blueprint("account", __name__)
    bp.add_url_rule("/account", "show", page.show, methods=["GET"])
    bp.add_url_rule("/account/passkeys/<passkey_id>/rename", "rename", page.rename,
                    methods=["POST"])
    bp.add_url_rule("/account/passkeys/<passkey_id>/remove", "remove", page.remove,
                    methods=["POST"])
    bp.add_url_rule("/account/consents", "consents", page.consents, methods=["GET"])
    bp.add_url_rule("/account/consents/<client_id>/revoke", "withdraw_consent",
                    page.withdraw_consent, methods=["POST"])
    return bp
