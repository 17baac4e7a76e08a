"""``make_app(profile)``: the Flask app every sample RP is, configured from its environment.

Routes (the contract's "The sample relying parties"):

=========================  ===============================================================
``GET /``                  the RP's page (its profile's template), Japanese unless ?lang=en
``GET /login``             to the IdP: code flow, PKCE S256, state, nonce; ``?action=NAME``
                           asks what that action needs (scope, acr_values, claims);
                           ``?next=/path`` returns there
``GET /callback``          the redirect URI: validates the answer and the ID token
``GET /logout``            asks; ``POST /logout`` ends the RP session, then RP-initiated
                           logout at the IdP
``POST /backchannel-logout``  Back-Channel Logout 1.0: ends the sessions the token names
``GET /whoami``            JSON: logged_in, sub, acr, amr, claims, allowed, why
``GET /theme.css``         the profile's colours
=========================  ===============================================================
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import requests
from authlib.integrations.base_client import OAuthError
from flask import Flask, Response, jsonify, redirect, request, session
from jinja2 import ChoiceLoader, PackageLoader

from rp_examples.common import oidc
from rp_examples.common.config import LANGUAGES, RpConfig
from rp_examples.common.pages import (
    INTERACTIVE,
    SILENT_ERRORS,
    SILENT_ONLY,
    SILENT_THEN_LOGIN,
    RpState,
    claim_text,
    current_login,
    decisions,
    language,
    render,
    safe_next,
    start_login,
    state_of,
    whoami,
)
from rp_examples.common.profile import Profile

__all__ = ["RpState", "current_login", "decisions", "language", "make_app", "render",
           "safe_next", "start_login", "state_of", "whoami"]


def make_app(profile: Profile, config: RpConfig | None = None) -> Flask:
    """The RP ``profile`` describes, for the IdP and client ``config`` names (default: from
    the environment, :meth:`RpConfig.from_env`)."""
    config = config or RpConfig.from_env(default_port=profile.default_port)
    app = Flask(f"rp_examples.{profile.name}", static_folder=str(Path(__file__).parent /
                                                                  "static"))
    app.config.update(SECRET_KEY=config.secret_key, SESSION_COOKIE_NAME=f"rp_{profile.name}",
                      SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SECURE=config.base_url.startswith("https:"))
    loaders: list[PackageLoader] = [PackageLoader("rp_examples.common")]
    if profile.templates:
        loaders.insert(0, PackageLoader(profile.templates))
    app.jinja_loader = ChoiceLoader(loaders)
    app.jinja_env.filters["claim"] = claim_text
    rp = RpState(profile, config, oidc.register_client(app, config, profile.scope))
    app.extensions["rp"] = rp
    _routes(app, rp)
    if profile.setup:
        profile.setup(app)
    return app


# -- routes -------------------------------------------------------------------------------------
def _routes(app: Flask, rp: RpState) -> None:
    profile, config = rp.profile, rp.config

    @app.get("/")
    def home() -> Response:
        if profile.single_sign_on and current_login() is None and \
                not session.get("silent_tried"):
            session["silent_tried"] = True  # once: a refused silent login stays quiet
            return start_login(profile.ask, mode=SILENT_ONLY, next_path="/")
        return render(profile.template)

    @app.get("/login")
    def login() -> Response:
        action = profile.action(request.args.get("action", ""))
        ask = action.ask if action and action.ask else profile.ask
        mode = SILENT_THEN_LOGIN if profile.single_sign_on and action is None else INTERACTIVE
        return start_login(ask, action=action.name if action else None, mode=mode,
                           next_path=safe_next(request.args.get("next")))

    @app.get("/callback")
    def callback() -> Response:
        state = request.args.get("state", "")
        pending = dict(session.get("pending", {}))
        started = pending.pop(state, None)
        session["pending"] = pending
        if started is None:
            return render("rp_error.html", 400, error="invalid_request",
                          description="unknown or reused state")
        error = request.args.get("error")
        if error:
            rp.client.framework.clear_state_data(session, state)
            if started["mode"] != INTERACTIVE and error in SILENT_ERRORS:
                if started["mode"] == SILENT_THEN_LOGIN:
                    action = profile.action(started["action"] or "")
                    return start_login(action.ask if action and action.ask else profile.ask,
                                       action=started["action"], next_path=started["next"])
                return redirect(started["next"])  # type: ignore[return-value]
            return render("rp_error.html", 400, error=error,
                          description=request.args.get("error_description", ""))
        try:
            token = rp.client.authorize_access_token()
            made = oidc.login_from_token(rp.client, token, userinfo=profile.userinfo,
                                         action=started["action"])
        except (OAuthError, ValueError, KeyError, TypeError) as failure:
            return render("rp_error.html", 400, error=getattr(failure, "error", "invalid_token"),
                          description=str(failure))
        rp.store.end(session.get("handle"))
        session["handle"] = rp.store.start(made)
        if profile.on_login:
            answer = profile.on_login(made)
            if answer is not None:
                return answer  # type: ignore[no-any-return]
        return redirect(started["next"])  # type: ignore[return-value]

    @app.get("/logout")
    def logout_page() -> Response:
        """A link may lead here from anywhere: ask, and log out only on the page's POST."""
        if current_login() is None:
            return redirect("/")  # type: ignore[return-value]
        return render("rp_logout.html")

    @app.post("/logout")
    def logout() -> Response:
        made = current_login()
        rp.store.end(session.pop("handle", None))
        if made is None:
            return redirect("/")  # type: ignore[return-value]
        # RP-Initiated Logout 1.0 §2: the hint names this session, so the IdP ends it at once.
        end = rp.client.load_server_metadata()["end_session_endpoint"]
        return redirect(end + "?" + urlencode(  # type: ignore[return-value]
            {"id_token_hint": made.id_token, "post_logout_redirect_uri": config.url("/")}))

    @app.post("/backchannel-logout")
    def backchannel_logout() -> Response:
        raw = request.form.get("logout_token", "")
        try:
            if not raw:
                raise oidc.LogoutTokenError("logout_token is missing")
            claims = oidc.verify_logout_token(rp.client, config, raw)
            with rp.lock:
                if claims["jti"] in rp.seen_jti:
                    raise oidc.LogoutTokenError("this logout token was used before")
                rp.seen_jti.add(claims["jti"])
        except oidc.LogoutTokenError as refused:
            answer = jsonify(error="invalid_request", error_description=str(refused))
            answer.status_code = 400
            return answer
        rp.store.end_matching(sid=claims.get("sid"), sub=claims.get("sub"))
        return Response("", 200)

    @app.get("/whoami")
    def whoami_route() -> Response:
        return jsonify(whoami(rp, current_login(), language()))

    @app.get("/theme.css")
    def theme_css() -> Response:
        theme = profile.theme
        css = (f":root{{--accent:{theme.accent};--bg:{theme.background};--ink:{theme.ink};"
               f"--font:{theme.font};--radius:{theme.radius}}}\n")
        return Response(css, mimetype="text/css")

    @app.errorhandler(requests.RequestException)
    @app.errorhandler(oidc.IdpRefusedError)
    def idp_unreachable(failure: Exception) -> Response:
        """The IdP did not answer (or refused a pushed request): say so, never a 500."""
        return render("rp_error.html", 502, error="idp_unavailable", description=str(failure))

    @app.after_request
    def headers(answer: Response) -> Response:
        lang = request.args.get("lang")
        if lang in LANGUAGES:
            answer.set_cookie(f"rp_{profile.name}_lang", str(lang), max_age=365 * 86400,
                              samesite="Lax", httponly=True)
        answer.headers.setdefault("Cache-Control", "no-store")
        answer.headers["X-Content-Type-Options"] = "nosniff"
        answer.headers["Referrer-Policy"] = "no-referrer"
        answer.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            f"form-action 'self' {config.issuer}; frame-ancestors 'none'; base-uri 'none'")
        return answer
