"""The provider's HTTP endpoints: a thin Flask adapter over the modules of this package."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
)

from idp.accounts import sessions as login_sessions
from idp.oidc import (
    account_routes,
    clients,
    discovery,
    logout,
    par,
    resources,
    token_wsgi,
    tokens,
)
from idp.oidc.authorize import check_redirect_uri, parse, single_valued
from idp.oidc.context import OidcContext
from idp.oidc.errors import InvalidClientError, InvalidRequestError, OidcError
from idp.oidc.flow import Provider


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _json_error(error: OidcError) -> Response:
    response = jsonify(error.to_dict())
    response.status_code = error.status
    if isinstance(error, InvalidClientError):
        response.headers["WWW-Authenticate"] = 'Basic realm="idp"'
    return _no_store(response)


def blueprint(provider: Provider) -> Blueprint:
    ctx: OidcContext = provider.ctx
    bp = Blueprint("oidc", __name__)

    def browser_session() -> str | None:
        return login_sessions.session_id_from_cookie(
            ctx.cookie_secret, request.cookies.get(login_sessions.COOKIE_NAME))

    def authenticated_client() -> clients.ClientInfo:
        # No explicit begin: the session connects only if it needs the database (a cached
        # client with a secret never does), and commits the assertion jti when it did.
        # The throttle's count is written after the session closed: it never waits for it.
        presented = clients.presented(request.form, request.headers.get("Authorization"))
        with ctx.client_throttle.attempt(presented.throttled_as(request.remote_addr or ""),
                                         counts=(InvalidClientError,)), ctx.sessions() as db:
            client = clients.authenticate(
                lambda: db, ctx.clients, presented, audiences=ctx.audiences(),
                seen_jti=lambda jti, exp: ctx.remember_jti(db, jti, exp))
            db.commit()
            return client

    @bp.errorhandler(OidcError)
    def oidc_error(error: OidcError) -> Any:
        if request.endpoint in ("oidc.authorize", "oidc.end_session") and \
                "application/json" not in request.headers.get("Accept", ""):
            return render_template("oidc/error.html", error=error), error.status
        return _json_error(error)

    @bp.get("/.well-known/openid-configuration")
    def configuration() -> Any:
        return jsonify(discovery.metadata(ctx.issuer))

    @bp.get("/jwks")
    def jwks() -> Any:
        response = jsonify(ctx.keys.jwks())
        response.headers["Cache-Control"] = "max-age=300"
        return response

    @bp.route("/authorize", methods=["GET", "POST"])
    def authorize() -> Any:
        params = single_valued((name, value) for name, values in request.values.lists()
                               for value in values)
        return redirect(provider.authorize(params, browser_session()), code=303)

    # POST /token with a form body is answered in front of Flask (token_wsgi); this route
    # answers the rest the same way (e.g. a chunked body).
    bp.record_once(lambda state: token_wsgi.install(state.app, ctx))

    @bp.post("/token")
    def token() -> Any:
        form = single_valued(request.form.items(multi=True))
        client = authenticated_client()
        return _no_store(jsonify(tokens.token_response(ctx, client, form)))

    @bp.post("/par")
    def pushed_authorization_request() -> Any:
        params = single_valued(request.form.items(multi=True))
        client = authenticated_client()
        for name in ("client_assertion", "client_assertion_type", "client_secret"):
            params.pop(name, None)
        if "request_uri" in params:
            raise InvalidRequestError("request_uri is not allowed in a pushed request")
        if params.get("request"):
            params = par.request_object_params(client, params["request"], ctx.issuer)
        check_redirect_uri(client, params)
        parse(client, params, require_nonce=ctx.settings.require_nonce)
        with ctx.sessions() as db, db.begin():
            uri = par.push(db, client, params, ctx.settings.par_lifetime_seconds)
        body = {"request_uri": uri, "expires_in": ctx.settings.par_lifetime_seconds}
        return _no_store(jsonify(body)), 201

    @bp.route("/userinfo", methods=["GET", "POST"])
    def userinfo() -> Any:
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else \
            request.form.get("access_token")
        try:
            return _no_store(jsonify(resources.userinfo(ctx, token)))
        except OidcError as error:
            response = _json_error(error)
            response.headers["WWW-Authenticate"] = f'Bearer error="{error.code}"'
            return response

    @bp.post("/introspect")
    def introspect() -> Any:
        client = authenticated_client()
        return _no_store(jsonify(resources.introspect(ctx, client, request.form.get("token"))))

    @bp.post("/revoke")
    def revoke() -> Any:
        client = authenticated_client()
        resources.revoke(ctx, client, request.form.get("token"))
        return _no_store(Response(status=200))

    @bp.route("/logout", methods=["GET", "POST"], endpoint="end_session")
    def end_session() -> Any:
        outcome = logout.end_session(ctx, request.values.to_dict(), browser_session())
        response: Any = redirect(outcome.redirect_to, code=303) if outcome.redirect_to else \
            render_template("oidc/logged_out.html")
        response = make_response(response)
        response.delete_cookie(login_sessions.COOKIE_NAME)
        return response

    account_routes.register(bp, ctx)
    return bp

