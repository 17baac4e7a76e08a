"""What every answer of the IdP carries, written once for the Flask app and for the WSGI fast
path in front of it (``idp.web.fast``), so the two cannot drift.

- ``X-Content-Type-Options: nosniff``: a browser takes each answer as the type it is sent as
  (a JSON body or an SVG is never run as a script or a page).
- ``Referrer-Policy: no-referrer``: interaction URLs and request parameters (a ``request_uri``,
  a card request id, a ``state``) never leave in a Referer header, whichever link or
  sub-resource the page loads.
- ``Content-Security-Policy`` and ``X-Frame-Options: DENY``: no answer can be framed by another
  site (clickjacking of the login, consent, account and logout pages; CSP ``frame-ancestors``,
  with X-Frame-Options for browsers without it). Pages load scripts, styles, images and
  ``fetch`` from this origin only, and run no inline script (their data sits in JSON blocks,
  their code in ``idp/static/js``); every other answer may load nothing at all.
- ``Cache-Control: no-store`` on every answer but the public, cacheable ones (static files,
  discovery, JWKS): interaction state and pages, CSRF tokens, the account and its JSON, card
  request status and the terms never stay in a browser or shared cache. A route that sets its
  own ``Cache-Control`` keeps it.
- ``X-Request-Id``: the id of this request (``idp.request_context``; the caller's own when it sent
  a well-formed one), as the log line and the audit entries of the request carry it.
- Flask's own ``session`` cookie (passkey ceremony handles, the terms agreement) is ``Secure``
  when the request came over https, as ``idp_browser`` and ``idp_session`` are.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from idp.request_context import current_request_id

Headers = tuple[tuple[str, str], ...]

NO_STORE: Headers = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))
# No ``form-action``: Chromium applies it to the redirects after a form's POST too, and the
# logout confirmation's POST ends in a redirect to the relying party's registered URI.
PAGE_POLICY = "; ".join((
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'",
    "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"))
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'"
_EVERY_ANSWER: Headers = (("X-Content-Type-Options", "nosniff"),
                          ("Referrer-Policy", "no-referrer"), ("X-Frame-Options", "DENY"))
# Endpoints whose answers are public and may be cached (JWKS says for how long itself).
CACHEABLE = frozenset({"static", "oidc.configuration", "oidc.jwks"})


def security_headers(mimetype: str) -> Headers:
    """The headers every answer of type ``mimetype`` carries (cache headers aside)."""
    policy = PAGE_POLICY if mimetype == "text/html" else OTHER_POLICY
    return (*_EVERY_ANSWER, ("Content-Security-Policy", policy))


REQUEST_ID = "X-Request-Id"


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie, ``Secure`` whenever the request is https. Its serializer
    is built once per key (Flask builds it at every request's open and save)."""

    def __init__(self) -> None:
        self._signers: dict[tuple[object, ...], URLSafeTimedSerializer | None] = {}

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure or super().get_cookie_secure(app)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if keys not in self._signers:
            self._signers = {keys: super().get_signing_serializer(app)}  # keys rarely change
        return self._signers[keys]


def install(app: Flask) -> None:
    """Give every answer of ``app`` its security and cache headers, and secure its session
    cookie."""
    app.session_interface = SessionCookies()

    @app.after_request
    def secure(response: Response) -> Response:
        for name, value in security_headers(response.mimetype or ""):
            response.headers[name] = value
        request_id = current_request_id()
        if request_id is not None:
            response.headers[REQUEST_ID] = request_id
        if request.endpoint not in CACHEABLE and "Cache-Control" not in response.headers:
            response.headers.extend(NO_STORE)
        return response
