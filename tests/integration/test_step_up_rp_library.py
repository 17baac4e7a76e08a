"""Step-up with a relying-party library nobody here wrote (Authlib's client) against a running
IdP: the RP reads ``acr``/``amr`` from the ID token and introspection, its resource server
finds the level short and answers the RFC 9470 challenge (idp.assurance.step_up), and the
client's new authorization request makes the IdP ask for exactly the missing step.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from idp.accounts.sessions import COOKIE_NAME
from idp.assurance import levels
from idp.assurance.step_up import (
    Requirement,
    TokenAuth,
    authorization_params,
    challenge,
    parse_challenge,
    unmet,
)
from tests.integration.test_oidc_rp_libraries import (
    REDIRECT,
    Idp,
    _authlib_id_token,
    _metadata,
    authlib_warning,
    idp,
    insecure_transport,
)
from tests.support.login import login_session

pytestmark = pytest.mark.slow
__all__ = ["idp", "insecure_transport"]  # fixtures

SYNCED = ("swk", "user", "mfa")


def _browser(idp: Idp) -> requests.Session:
    """A person signed in with a synced passkey, anchor current (fixture, not a route)."""
    _, cookie = login_session(idp.app, acr=levels.IAL2_AAL2_PHR.value, amr=SYNCED)
    session = requests.Session()
    session.cookies.set(COOKIE_NAME, cookie, domain="127.0.0.1")
    return session


def _follow(idp: Idp, browser: requests.Session, url: str) -> tuple[str, dict[str, Any] | None]:
    """Through the IdP, consenting to everything: (the RP's URL, None), or (the interaction's
    URL, its state) when it asks for a login."""
    while url.startswith(idp.url):
        if "/interaction/" in url:
            state: dict[str, Any] = browser.get(
                url, headers={"Accept": "application/json"}).json()
            if state["prompt"] == "done":
                url = state["redirect_to"]
                continue
            if state["prompt"] == "login":
                return url, state
            body = {"approve": True, "claims": state["requested"]["claims"]}
            url = browser.post(idp.url + state["actions"]["consent"]["href"], json=body,
                               headers={"X-CSRF-Token": state["csrf_token"]}).json()["redirect_to"]
            continue
        response = browser.get(url, allow_redirects=False)
        assert response.status_code in (302, 303), response.text
        url = response.headers["Location"]
    return url, None


@authlib_warning
@pytest.mark.usefixtures("insecure_transport")
def test_authlib_reads_acr_and_amr_and_a_challenge_asks_for_the_card_only(idp: Idp) -> None:
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session

    meta, credentials = _metadata(idp), idp.register()
    assert {"acr", "amr", "auth_time"} <= set(meta["claims_supported"])
    assert set(levels.supported_values()) == set(meta["acr_values_supported"])
    session = OAuth2Session(credentials["client_id"], credentials["client_secret"],
                            scope="openid profile", redirect_uri=REDIRECT,
                            code_challenge_method="S256")
    browser = _browser(idp)
    verifier, nonce = generate_token(48), generate_token(16)
    url, _ = session.create_authorization_url(meta["authorization_endpoint"],
                                              code_verifier=verifier, nonce=nonce,
                                              acr_values="phr")
    back, asked = _follow(idp, browser, url)
    assert asked is None
    token = session.fetch_token(meta["token_endpoint"], authorization_response=back,
                                code_verifier=verifier)
    id_claims = _authlib_id_token(idp, token["id_token"], credentials["client_id"], nonce)
    assert (id_claims["acr"], id_claims["amr"]) == ("phr", list(SYNCED))

    # The resource server: a large transfer needs the card.
    introspected = session.introspect_token(meta["introspection_endpoint"],
                                            token=token["access_token"]).json()
    needed = Requirement((levels.IAL2_AAL2_CARD.value,), max_age=600)
    short = unmet(TokenAuth.from_claims(introspected), needed, introspected["auth_time"] + 1)
    assert short == Requirement((levels.IAL2_AAL2_CARD.value,))
    header = challenge(short, "Confirm the transfer with your My Number Card")

    # The client reads the challenge and asks again, through the same library.
    read = parse_challenge(header)
    assert read is not None
    url, _ = session.create_authorization_url(meta["authorization_endpoint"],
                                              code_verifier=generate_token(48),
                                              nonce=generate_token(16),
                                              **authorization_params(read.required))
    assert "acr_values=" in urlsplit(url).query
    _, asked = _follow(idp, browser, url)
    assert asked is not None
    assert asked["reasons"] == ["step_up_card"]
    assert "card" in asked["actions"]
    assert not {"passkey_options", "onboard"} & set(asked["actions"])
