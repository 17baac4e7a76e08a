"""Our IdP in this process behind Flask's test client: one client, one login session.

For in-process comparisons (``python -m bench authlib``): the real ``create_app`` on a migrated
SQLite file, the client registered as ``idp clients add`` would (opaque access token, ES256 ID
token), the login session written as the test suite does (``tests/support/login.py``), and
codes minted through the real /authorize, consenting once through the interaction JSON face.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from idp import db
from idp.accounts.sessions import COOKIE_NAME
from idp.app import create_app, services_of
from idp.oidc import clients
from idp.settings import Settings
from tests.support.login import login_session


class OursInProcess:
    def __init__(self, workdir: Path, redirect_uri: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{workdir / 'idp.sqlite3'}"
        db.upgrade(url)
        base = Settings(var_dir=workdir / "var", database_url=url)
        self.app = create_app(base.model_copy(update={"oidc": base.oidc.model_copy(
            update={"issuer": "http://ours.bench.invalid"})}))
        self.redirect_uri = redirect_uri
        with db.transaction(services_of(self.app).sessions) as session:
            self.client_id, secret = clients.register(
                session, name="bench", redirect_uris=[redirect_uri],
                **{"access_token_format": "opaque", "id_token_alg": "ES256"})
        if secret is None:
            raise RuntimeError("client_secret_basic clients always get a secret")
        self.client_secret = secret
        self.browser = self.app.test_client()
        _, cookie = login_session(self.app)
        self.browser.set_cookie(COOKIE_NAME, cookie, domain="localhost")

    def mint_code(self, challenge: str) -> str:
        answer = self.browser.get("/authorize", query_string={
            "response_type": "code", "client_id": self.client_id, "scope": "openid",
            "redirect_uri": self.redirect_uri, "state": "s", "nonce": "n",
            "code_challenge": challenge, "code_challenge_method": "S256"})
        location = answer.headers["Location"]
        if "/interaction/" in location:  # consent, once per client
            state = self.browser.get(urlsplit(location).path,
                                     headers={"Accept": "application/json"}).get_json()
            posted = self.browser.post(state["actions"]["consent"]["href"],
                                       json={"approve": True, "claims": []},
                                       headers={"X-CSRF-Token": state["csrf_token"]})
            location = posted.get_json()["redirect_to"]
        return parse_qs(urlsplit(location).query)["code"][0]

    def close(self) -> None:
        services_of(self.app).engine.dispose()
