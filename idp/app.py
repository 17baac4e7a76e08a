"""The Flask application factory: services built once from Settings, wired in one place."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, make_response, render_template, request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.middleware.proxy_fix import ProxyFix

from idp import db, i18n
from idp.accounts.claims import ClaimsSource, JpkiClaimsSource
from idp.errors import IdpError
from idp.i18n.errors import localised_error
from idp.login.account_page import ConsentLister
from idp.login.actions import ActionsHook
from idp.login.ports import Interactions
from idp.secrets import instance_secret
from idp.settings import Settings
from idp.throttle import FailureThrottle

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, claims: ClaimsSource | None = None) -> Flask:
    """Build the IdP for ``settings``. Nothing happens at import time.

    ``claims`` replaces the database claims source (tests pass a fake).
    """
    app = Flask(__name__)
    app.config["SECRET_KEY"] = settings.secret_key or instance_secret(settings, "flask-secret")
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.extensions["idp.settings"] = settings
    engine = db.make_engine(settings.effective_database_url)
    app.extensions["idp.engine"] = engine
    app.extensions["idp.sessions"] = db.make_sessionmaker(engine)
    app.extensions["idp.throttles"] = _throttles(settings, app.extensions["idp.sessions"])
    _register_error_handlers(app, settings)
    _register_oidc(app, settings, claims or JpkiClaimsSource(app.extensions["idp.sessions"]))

    @app.get("/healthz")
    def healthz() -> tuple[dict[str, object], int]:
        # "ok" while this process serves; J-LIS breakers are reported, not judged: passkeys and
        # tokens work without J-LIS (docs/operations.md, "J-LIS outages").
        return {"status": "ok", "jlis": app.extensions["idp.trust"].jlis_breakers()}, 200

    proxies = settings.server.trusted_proxies
    if proxies:  # outermost, so the token endpoint in front of Flask sees the same address
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0, x_port=0, x_prefix=0)
    return app


def _throttles(settings: Settings, sessions: sessionmaker[Session]) -> dict[str, FailureThrottle]:
    """One throttle per scope of failed attempts (docs/operations.md), shared by this app."""
    rules = settings.throttle
    return {scope: FailureThrottle(sessions, scope, rule.limit, rule.window_seconds)
            for scope, rule in (("client_auth", rules.client_auth), ("passkey", rules.passkey),
                                ("card_answer", rules.card_answer))}


def _register_oidc(app: Flask, settings: Settings, claims: ClaimsSource) -> None:
    """The provider and the interaction pages, joined through the login package's port."""
    from idp.login.card_routes import setup as setup_card
    from idp.login.routes import blueprint as login_blueprint
    from idp.oidc.account_routes import consent_items
    from idp.oidc.browser_binding import install as install_browser_binding
    from idp.oidc.clients import ClientCache
    from idp.oidc.context import OidcContext
    from idp.oidc.flow import Provider
    from idp.oidc.keys import KeyStore
    from idp.oidc.routes import blueprint as oidc_blueprint

    oidc = settings.oidc
    keys = KeyStore(settings.keys_dir, retention_seconds=max(
        oidc.id_token_lifetime_seconds, oidc.access_token_lifetime_seconds) + 60)
    keys.ensure()
    ctx = OidcContext(
        settings=oidc, keys=keys, clients=ClientCache(), sessions=app.extensions["idp.sessions"],
        claims=claims,
        pairwise_salt=oidc.pairwise_salt or instance_secret(settings, "pairwise-salt"),
        cookie_secret=app.config["SECRET_KEY"],
        client_throttle=app.extensions["idp.throttles"]["client_auth"])
    provider = Provider(ctx)
    app.extensions["idp.oidc"] = ctx
    app.register_blueprint(oidc_blueprint(provider))
    install_browser_binding(app, app.extensions["idp.sessions"], ctx.issuer)
    hooks = (setup_card(app, settings, provider, ctx.cookie_secret),
             _register_passkeys(app, settings, provider, ctx.cookie_secret, claims,
                                lambda pid: consent_items(ctx, pid)))
    app.register_blueprint(login_blueprint(provider, ctx.cookie_secret,
                                           settings.default_language, action_hooks=hooks))


def _register_passkeys(app: Flask, settings: Settings, provider: Interactions,
                       cookie_secret: str, claims: ClaimsSource,
                       consents: ConsentLister) -> ActionsHook:
    """Passkey sign-in/registration in the interaction, and the person's own page."""
    from idp.login.account_page import install as install_account_page
    from idp.login.passkey_routes import PasskeyFlow, install
    from idp.passkeys.service import PasskeyService

    service = PasskeyService(app.extensions["idp.sessions"], settings.webauthn)
    app.extensions["idp.passkeys"] = service
    install_account_page(app, service, cookie_secret, settings.default_language, consents)
    return install(app, PasskeyFlow(provider, service, cookie_secret, claims,
                                    settings.default_language,
                                    app.extensions["idp.throttles"]["passkey"]))


def _person_language(settings: Settings) -> str:
    return i18n.choose(request.args.get("lang"), request.cookies.get("lang"),
                       request.headers.get("Accept-Language"), settings.default_language)


def _register_error_handlers(app: Flask, settings: Settings) -> None:
    @app.errorhandler(IdpError)
    def idp_error(error: IdpError):  # type: ignore[no-untyped-def]
        if error.status >= 500:
            log.error("refused with a server error: %s", error.code)
        language = _person_language(settings)
        body = localised_error(error, language)
        if request.method == "GET" and request.accept_mimetypes.best == "text/html":
            response = make_response(render_template("oidc/error.html", lang=language, error={
                "code": body["error"], "description": body["error_description"]}), error.status)
        else:
            response = make_response(jsonify(body), error.status)
        retry_after: str | None = getattr(error, "retry_after", None)  # 429, 503
        if retry_after:
            response.headers["Retry-After"] = retry_after  # RFC 9110 §10.2.3
        return response

    @app.errorhandler(DBAPIError)
    def database_error(error: DBAPIError):  # type: ignore[no-untyped-def]
        refusal = db.refusal_for(error)
        if refusal is None:
            raise error
        return idp_error(refusal)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        body = {"error": (error.name or "error").lower().replace(" ", "_"),
                "error_description": error.description or ""}
        response = make_response(jsonify(body), error.code or 500)
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)  # RFC 9110 §15.5.6
        return response
