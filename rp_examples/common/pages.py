"""What every page and route of a sample RP reads per request: the state of the app, the
person's language, the login this browser holds, the gating decisions, rendering, and starting
a login at the IdP."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, current_app, redirect, render_template, request, session

from rp_examples.common import oidc
from rp_examples.common.config import LANGUAGES, RpConfig
from rp_examples.common.profile import Action, Ask, Decision, Login, Profile, decide
from rp_examples.common.sessions import SessionStore
from rp_examples.common.words import MESSAGES, acr_words, amr_words

# Answers to prompt=none that mean "ask the person" (OIDC Core §3.1.2.6).
SILENT_ERRORS = frozenset({"login_required", "consent_required", "interaction_required",
                           "account_selection_required"})
INTERACTIVE, SILENT_THEN_LOGIN, SILENT_ONLY = "interactive", "silent_then_login", "silent_only"
_MAX_PENDING = 8  # logins started and not finished, per browser


@dataclass
class RpState:
    """What one RP app holds: ``app.extensions["rp"]``."""

    profile: Profile
    config: RpConfig
    client: Any  # Authlib's Flask OAuth2 client
    store: SessionStore = field(default_factory=SessionStore)
    seen_jti: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def state_of(app: Flask) -> RpState:
    rp: RpState = app.extensions["rp"]
    return rp


def language() -> str:
    """?lang= first (and remembered), then the cookie, then RP_LANG."""
    rp = state_of(_app())
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return str(asked)
    cookie = request.cookies.get(f"rp_{rp.profile.name}_lang")
    return cookie if cookie in LANGUAGES else rp.config.lang


def current_login() -> Login | None:
    """This browser's login, or None (also when a logout ended it since its last visit)."""
    rp = state_of(_app())
    handle = session.get("handle")
    login = rp.store.get(handle)
    if login is None and handle:
        session.pop("handle", None)
        if rp.store.was_ended(handle):
            session.pop("silent_tried", None)  # a new login at the IdP may be found again
    return login


def decisions(rp: RpState, login: Login | None, lang: str) -> list[tuple[Action, Decision]]:
    return [(action, decide(action, login, lang)) for action in rp.profile.actions]


def whoami(rp: RpState, login: Login | None, lang: str) -> dict[str, Any]:
    decided = decisions(rp, login, lang)
    return {"logged_in": login is not None, "sub": login.sub if login else None,
            "acr": login.acr if login else None, "amr": list(login.amr) if login else [],
            "claims": dict(login.claims) if login else {},
            "allowed": {a.name: d.allowed for a, d in decided},
            "why": {a.name: d.why for a, d in decided if not d.allowed}}


def render(template: str, status: int = 200, **extra: Any) -> Response:
    """A page of this RP, with the words, the login and the gating table at hand."""
    rp = state_of(_app())
    lang, login = language(), current_login()
    view = rp.profile.view(login, lang) if rp.profile.view else {}
    html = render_template(
        template, profile=rp.profile, theme=rp.profile.theme, lang=lang,
        other_lang="en" if lang == "ja" else "ja", login=login, config=rp.config,
        decisions=decisions(rp, login, lang), t=_translator(rp.profile.messages, lang),
        acr_words=acr_words, amr_words=amr_words, **view, **extra)
    return Response(html, status=status, mimetype="text/html")


def start_login(ask: Ask, *, action: str | None = None, mode: str = INTERACTIVE,
                next_path: str = "/") -> Response:
    """Send the browser to the IdP; the callback finds ``action``, ``mode`` and ``next_path``
    again by the request's state."""
    rp = state_of(_app())
    prompt = "none" if mode != INTERACTIVE else None
    params = oidc.request_params(rp.profile.scope, ask, prompt=prompt, lang=language())
    data = oidc.authorization_url(rp.client, rp.config, params)
    rp.client.save_authorize_data(redirect_uri=rp.config.url("/callback"), **data)
    pending = dict(session.get("pending", {}))
    while len(pending) >= _MAX_PENDING:  # abandoned logins: forget the oldest (and its PKCE)
        rp.client.framework.clear_state_data(session, pending.pop(next(iter(pending))))
    pending[data["state"]] = {"action": action, "mode": mode, "next": next_path}
    session["pending"] = pending
    return redirect(data["url"])  # type: ignore[return-value]


def safe_next(value: str | None) -> str:
    """Only a path of this RP (no scheme, no host, no '//')."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _app() -> Flask:
    return current_app


def claim_text(value: Any) -> str:
    """A claim's value as its JSON (true, {"formatted": ...}), strings as they are."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _translator(own: Mapping[str, Mapping[str, str]], lang: str) -> Any:
    def t(key: str) -> str:
        words = own.get(key) or MESSAGES.get(key)
        return words[lang] if words else key

    return t
