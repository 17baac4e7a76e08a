"""The provider's HTTP endpoints: a thin Flask adapter over the protocol core (``idp.oidc``).

Discovery, JWKS, /authorize, /par, /userinfo, /introspect, /revoke and /logout (which asks the
person first unless the relying party speaks for this session: ``idp.web.logout``). POST /token
is ``idp.web.token`` (a fast path in front of Flask, and a route for the rest). Refusals are
raised and answered by the one renderer (``idp.web.errors``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, jsonify
from flask import request as flask_request

from idp.oidc import client_auth, clients, discovery, par, resources
from idp.oidc.authorize import check_redirect_uri, parse, single_valued
from idp.oidc.context import OidcContext
from idp.oidc.errors import InvalidClientError, InvalidRequestError, OidcError
from idp.oidc.flow import Provider
from idp.web import fast, logout, token
from idp.web import request as web_request
from idp.web.headers import NO_STORE
from idp.web.request import Answer, Call

_CLIENT_CREDENTIALS = ("client_assertion", "client_assertion_type", "client_secret")


def _no_store(response: Response) -> Response:
    response.headers.extend(NO_STORE)
    return response


def single_valued_form() -> dict[str, str]:
    """The form's parameters; one sent more than once is refused (RFC 6749 §3.1, §3.2)."""
    return single_valued(flask_request.form.items(multi=True))


def authenticated_client(ctx: OidcContext, form: dict[str, str]) -> clients.ClientInfo:
    """The client authenticating this request (/par, /introspect, /revoke), throttled as at
    the token endpoint."""
    # No explicit begin: the session connects only if it needs the database (a cached client
    # with a secret never does), and commits the assertion jti when it did. The throttle's count
    # is written after the session closed: it never waits for it.
    presented = client_auth.presented(form, flask_request.headers.get("Authorization"))
    with ctx.client_throttle.attempt(presented.throttled_as(flask_request.remote_addr or ""),
                                     counts=(InvalidClientError,)), ctx.sessions() as db:
        client = client_auth.authenticate(
            lambda: db, ctx.clients, presented, audiences=ctx.audiences(),
            seen_jti=lambda jti, exp: ctx.remember_jti(db, jti, exp))
        db.commit()
        return client


class UserInfo:
    """``GET``/``POST /userinfo`` (OIDC Core §5.3) as a shared route (``idp.web.fast``): a
    refusal carries the bearer challenge (RFC 6750 §3)."""

    def __init__(self, ctx: OidcContext) -> None:
        self._ctx = ctx

    def __call__(self, call: Call) -> Answer:
        header = call.header("Authorization") or ""
        bearer = header[7:] if header.lower().startswith("bearer ") else \
            call.form().get("access_token")
        try:
            return Answer(resources.userinfo(self._ctx, bearer), headers=NO_STORE)
        except OidcError as error:
            return Answer(error=error,
                          headers=(("WWW-Authenticate", f'Bearer error="{error.code}"'),))

    def route(self) -> fast.Route:
        """The fast path serves GET (no body); a POST's form goes to Flask's view."""
        return fast.Route("GET", "/userinfo", "oidc.userinfo", self)


class Authorize:
    """``GET``/``POST /authorize`` (OIDC Core §3.1.2) as a shared route (``idp.web.fast``): a
    303 to the interaction (bound to this browser: ``idp.web.binding``) or to the relying
    party; a refusal is the error page."""

    def __init__(self, provider: Provider) -> None:
        self._provider = provider

    def __call__(self, call: Call) -> Answer:
        return Answer(location=self._provider.authorize(call.params(),
                                                        web_request.session_id(call)),
                      status=303)

    def route(self) -> fast.Route:
        """The fast path serves GET (a query, no body); a POST's form goes to Flask's view."""
        return fast.Route("GET", "/authorize", "oidc.authorize", self, pages=True)


def blueprint(provider: Provider, token_route: token.TokenRoute | None = None,
              userinfo_route: UserInfo | None = None,
              authorize_route: Authorize | None = None) -> Blueprint:
    ctx: OidcContext = provider.ctx
    bp = Blueprint("oidc", __name__)
    token_route = token_route or token.TokenRoute(ctx)
    userinfo_view = fast.flask_view(userinfo_route or UserInfo(ctx))
    authorize_view = fast.flask_view(authorize_route or Authorize(provider))

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
        return authorize_view()

    @bp.post("/token", endpoint="token_route")
    def token_route_view() -> Any:
        return token.flask_route(token_route)

    @bp.post("/par")
    def pushed_authorization_request() -> Any:
        form = single_valued_form()
        client = authenticated_client(ctx, form)
        params = {name: value for name, value in form.items() if name not in _CLIENT_CREDENTIALS}
        if "request_uri" in params:
            raise InvalidRequestError("request_uri is not allowed in a pushed request")
        if params.get("request"):
            params = par.request_object_params(client, params["request"], ctx.issuer)
        check_redirect_uri(client, params)
        parse(client, params, require_nonce=ctx.settings.require_nonce)
        uri = par.store(ctx.sessions, client, params, ctx.settings.par_lifetime_seconds)
        body = {"request_uri": uri, "expires_in": ctx.settings.par_lifetime_seconds}
        return _no_store(jsonify(body)), 201

    @bp.route("/userinfo", methods=["GET", "POST"])
    def userinfo() -> Any:
        return userinfo_view()

    @bp.post("/introspect")
    def introspect() -> Any:
        form = single_valued_form()
        client = authenticated_client(ctx, form)
        return _no_store(jsonify(resources.introspect(ctx, client, form.get("token"))))

    @bp.post("/revoke")
    def revoke() -> Any:
        form = single_valued_form()
        client = authenticated_client(ctx, form)
        resources.revoke(ctx, client, form.get("token"))
        return _no_store(Response(status=200))

    @bp.route("/logout", methods=["GET", "POST"], endpoint="end_session")
    def end_session() -> Any:
        return logout.end_session(ctx)

    @bp.post("/logout/confirm", endpoint="confirm_logout")
    def confirm_logout() -> Any:
        return logout.confirm(ctx)

    return bp


def install(app: Flask, provider: Provider) -> list[fast.Route]:
    """The endpoints; answers the routes the fast path serves in front of the app
    (``idp.web.fast``: /authorize, /token, /userinfo)."""
    token_route, userinfo_route = token.TokenRoute(provider.ctx), UserInfo(provider.ctx)
    authorize_route = Authorize(provider)
    app.register_blueprint(blueprint(provider, token_route, userinfo_route, authorize_route))
    return [authorize_route.route(), token_route.route(), userinfo_route.route()]
