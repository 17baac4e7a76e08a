"""The Flask application factory: ``Services.build`` once, then every web adapter wired to it.

Nothing happens at import time. The services come from the one composition root
(``idp.bootstrap``); the adapters (``idp.web``) receive what they use as arguments, and the
request helpers read the :class:`~idp.web.request.WebContext` put on the app here.
"""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from idp.accounts.anchor_check import AnchorChecker
from idp.accounts.card_sign_in import CardSignIns
from idp.accounts.claims import ClaimsSource
from idp.bootstrap import Services
from idp.demo_info import DemoFile
from idp.events.push import EventsWorker
from idp.oidc.logout_outbox import LogoutWorker
from idp.settings import Settings
from idp.web import (
    account,
    admin_api,
    admin_ui,
    binding,
    card,
    card_app,
    device,
    errors,
    fast,
    front,
    headers,
    interaction,
    metrics,
    observe,
    oidc,
    passkeys,
    signing,
    ssf,
    terms,
)
from idp.web.request import EXTENSION, WebContext, remember_language

log = logging.getLogger(__name__)
SERVICES = "idp.services"


def create_app(settings: Settings, *, claims: ClaimsSource | None = None,
               anchors: AnchorChecker | None = None) -> Flask:
    """Build the IdP for ``settings``. ``claims`` and ``anchors`` replace the database claims
    source and the anchor checker (tests pass fakes)."""
    services = Services.build(settings, claims=claims, anchors=anchors,
                              interaction_rows=binding.RequestInteractions())
    app = Flask(__name__)
    app.config["SECRET_KEY"] = services.secret_key
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.extensions[SERVICES] = services
    web = WebContext(services.sessions, services.secret_key, settings.default_language,
                     services.oidc.issuer, settings.time_zone)
    app.extensions[EXTENSION] = web
    observe.install(app, services.sessions)  # first: the request id before any other hook
    errors.install(app)
    headers.install(app)
    app.after_request(remember_language)
    hot = _register_routes(app, services)
    metrics.install(app, services.sessions, settings.crl_cache_dir, settings.metrics.token)

    @app.get("/healthz")
    def healthz() -> tuple[dict[str, object], int]:
        # "ok" while this process serves; J-LIS breakers are reported, not judged: passkeys and
        # tokens work without J-LIS (docs/operations.md, "J-LIS outages").
        return {"status": "ok", "jlis": services.trust.jlis_breakers()}, 200

    fast.install(app, web, hot)  # the hot routes' fast path, in front of Flask
    proxies = settings.server.trusted_proxies
    if proxies:  # outermost, so the fast path in front of Flask sees the same address
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0, x_port=0, x_prefix=0)
    return app


def _register_routes(app: Flask, services: Services) -> list[fast.Route]:
    """Register every route; answers those the fast path serves (``idp.web.fast``)."""
    settings, provider = services.settings, services.provider
    hot = oidc.install(app, provider)
    binding.install(app, services.sessions, services.oidc.issuer)
    sign_ins = CardSignIns(services.sessions, services.anchors,
                           settings.oidc.session_lifetime_seconds, services.audit)
    flow = passkeys.PasskeyFlow(provider, services.passkeys, services.anchors, services.claims,
                                services.throttles.passkey, services.sessions)
    faces = interaction.Faces(provider, action_hooks=(
        card.actions_hook, signing.actions_hook, flow.actions, device.actions_hook),
        face_hooks=(device.face_hook, flow.face))
    for blueprint in (
            card_app.blueprint(provider, services.card_answers, services.anchors,
                               services.oidc.issuer, services.throttles.card_answer,
                               sign_ins.after_answer),
            card.blueprint(provider, sign_ins),
            signing.blueprint(provider, sign_ins),
            terms.blueprint(provider),
            passkeys.blueprint(flow),
            account.blueprint(services.oidc, services.passkeys),
            front.blueprint(DemoFile(settings.demo_file_path), settings.var_dir),
            ssf.blueprint(services.events),
            device.blueprint(provider, services.throttles.device_user_code,
                             services.throttles.device_authorization),
            admin_api.blueprint(services.admin),
            admin_ui.blueprint(services.admin),
            interaction.blueprint(provider, faces=faces)):
        app.register_blueprint(blueprint)
    return [*hot, faces.route(), *flow.routes()]


def services_of(app: Flask) -> Services:
    """The services ``app`` was built with (servers and tests reach them here)."""
    found: Services = app.extensions[SERVICES]
    return found


def with_logout_worker(app: Flask) -> Flask:
    """Start the back-channel logout delivery thread for ``app`` (each ``idp serve`` worker
    process has one)."""
    return _with_worker(app, "idp.logout_worker", LogoutWorker(services_of(app).oidc))


def with_events_worker(app: Flask) -> Flask:
    """Start the Shared Signals push delivery thread for ``app`` (each ``idp serve`` worker
    process has one)."""
    return _with_worker(app, "idp.events_worker", EventsWorker(services_of(app).events))


def _with_worker(app: Flask, name: str, worker: LogoutWorker | EventsWorker) -> Flask:
    worker.start()
    app.extensions[name] = worker
    return app
