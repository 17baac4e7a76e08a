"""A live IdP and live sample relying parties (rp_examples) in one test process.

Each runs in a Werkzeug server thread on a free port; the RPs talk to the IdP over HTTP only,
as they do in ``idp demo``. The IdP's anchor re-check answers "current" (the card side is tested
on its own), and people are logged in with the fixture session (tests/support/login.py) or a
passkey in the browser::

    with live_idp(sqlite_settings) as idp, live_rp(SHOP, idp) as shop:
        browser = idp.browser()                        # a requests.Session, logged in
        idp.follow(browser, f"{shop.url}/login")       # through the IdP, consenting
        browser.get(f"{shop.url}/whoami").json()
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from idp import db
from idp.accounts.sessions import COOKIE_NAME
from idp.app import create_app, services_of
from idp.oidc import clients
from idp.settings import Settings
from rp_examples.catalogue import BACKCHANNEL, CALLBACK, POST_LOGOUT
from rp_examples.common import Profile, RpConfig, make_app
from tests.support.anchor import anchor
from tests.support.login import login_session
from tests.support.site import CurrentAnchors

HOST = "localhost"  # WebAuthn allows plain http on localhost only


class _Late:
    """A WSGI app bound after its server (the URL must be known first)."""

    def __init__(self) -> None:
        self.app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


@contextmanager
def _served() -> Iterator[tuple[_Late, str]]:
    late = _Late()
    server: BaseWSGIServer = make_server("127.0.0.1", 0, late, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield late, f"http://{HOST}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


@dataclass
class LiveIdp:
    url: str
    app: Flask

    def register(self, name: str, rp_url: str, *, sector: str | None = None,
                 **metadata: Any) -> tuple[str, str | None]:
        """Register an RP served at ``rp_url`` as ``idp demo`` does: its callback, its
        post-logout page and its back-channel logout endpoint."""
        with db.transaction(services_of(self.app).sessions) as session:
            return clients.register(
                session, name=name, redirect_uris=[rp_url + CALLBACK],
                post_logout_redirect_uris=[rp_url + POST_LOGOUT],
                backchannel_logout_uri=rp_url + BACKCHANNEL,
                sector_identifier=sector or f"{name}.example", **metadata)

    def login_cookie(self, **kwargs: Any) -> tuple[str, str]:
        """(private_id, the IdP's session cookie value) of a fixture login."""
        return login_session(self.app, **kwargs)

    def browser(self, **kwargs: Any) -> requests.Session:
        """A requests.Session logged in at the IdP (fixture login)."""
        session = requests.Session()
        self.log_in(session, **kwargs)
        return session

    def log_in(self, browser: requests.Session, *, basic4: dict[str, Any] | None = None,
               **kwargs: Any) -> str:
        """A fixture login at the IdP in ``browser``; the private ID. With ``basic4``, the
        person is anchored to a (fixture) current JPKI certificate with these 4 info, so the
        IdP releases verified claims (age, verified_claims)."""
        private_id, cookie = self.login_cookie(**kwargs)
        if basic4 is not None:
            anchor(self.app, private_id, serial=secrets.token_hex(4), **basic4)
        browser.cookies.set(COOKIE_NAME, cookie, domain=f"{HOST}.local")  # cookiejar's name
        return private_id

    def follow(self, browser: requests.Session, url: str, *, consent: bool = True) -> \
            requests.Response:
        """Follow redirects from ``url`` through the IdP (answering consent through the
        interaction's JSON face) until a page answers; that page."""
        for _ in range(20):
            if "/interaction/" in url and url.startswith(self.url):
                state = browser.get(url, headers={"Accept": "application/json"}).json()
                if state["prompt"] == "done":
                    url = state["redirect_to"]
                    continue
                assert consent, state
                assert state["prompt"] == "consent", state
                url = browser.post(
                    self.url + state["actions"]["consent"]["href"],
                    json={"approve": True, "claims": state["requested"]["claims"]},
                    headers={"X-CSRF-Token": state["csrf_token"]}).json()["redirect_to"]
                continue
            answer = browser.get(url, allow_redirects=False)
            if answer.status_code not in (301, 302, 303):
                return answer
            url = requests.compat.urljoin(url, answer.headers["Location"])
        raise AssertionError(f"too many redirects, at {url}")


@contextmanager
def live_idp(settings: Settings) -> Iterator[LiveIdp]:
    with _served() as (late, url):
        configured = settings.model_copy(update={
            "oidc": settings.oidc.model_copy(update={"issuer": url}),
            "webauthn": settings.webauthn.model_copy(update={"origins": (url,)})})
        late.app = create_app(configured, anchors=CurrentAnchors())
        try:
            yield LiveIdp(url, late.app)
        finally:
            services_of(late.app).engine.dispose()


@dataclass
class LiveRp:
    url: str
    app: Flask
    config: RpConfig
    client_id: str


@contextmanager
def live_rp(profile: Profile, idp: LiveIdp, *, sector: str | None = None,
            private_jwk: dict[str, Any] | None = None, par: bool | None = None,
            **metadata: Any) -> Iterator[LiveRp]:
    """``profile``'s RP, registered at ``idp`` (client secret, or private_key_jwt when
    ``private_jwk`` is given; PAR by default with a key) and served."""
    with _served() as (late, url):
        if private_jwk is not None:
            public = {k: v for k, v in private_jwk.items() if k not in ("d", "p", "q", "dp",
                                                                         "dq", "qi")}
            metadata.update(auth_method="private_key_jwt", jwks={"keys": [public]})
        client_id, secret = idp.register(profile.title["ja"], url,
                                         sector=sector or f"{profile.name}.example", **metadata)
        config = RpConfig(issuer=idp.url, client_id=client_id, base_url=url,
                          client_secret=secret, private_jwk=private_jwk,
                          par=private_jwk is not None if par is None else par)
        late.app = make_app(profile, config)
        yield LiveRp(url, late.app, config, client_id)
