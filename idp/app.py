"""The Flask application factory: services built once from Settings, wired in one place."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from idp import db
from idp.errors import IdpError
from idp.secrets import instance_secret
from idp.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> Flask:
    """Build the IdP for ``settings``. Nothing happens at import time."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = settings.secret_key or instance_secret(settings, "flask-secret")
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.extensions["idp.settings"] = settings
    engine = db.make_engine(settings.effective_database_url)
    app.extensions["idp.engine"] = engine
    app.extensions["idp.sessions"] = db.make_sessionmaker(engine)
    _register_error_handlers(app)

    @app.get("/healthz")
    def healthz() -> tuple[dict[str, str], int]:
        return {"status": "ok"}, 200

    return app


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(IdpError)
    def idp_error(error: IdpError):  # type: ignore[no-untyped-def]
        if error.status >= 500:
            log.error("refused with a server error: %s", error.code)
        return jsonify(error.to_dict()), error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        body = {"error": (error.name or "error").lower().replace(" ", "_"),
                "error_description": error.description or ""}
        return jsonify(body), error.code or 500
