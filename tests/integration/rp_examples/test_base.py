"""The sample RPs' shared base against a live IdP, driven by a requests browser: the code flow
with PKCE and nonce, /whoami, RP-initiated logout and back-channel logout."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from idp.settings import Settings
from rp_examples.common import state_of
from rp_examples.shop import PROFILE as SHOP
from tests.support.rp_site import live_idp, live_rp

pytestmark = pytest.mark.slow


def test_a_login_at_the_shop_lands_in_its_whoami(sqlite_settings: Settings) -> None:
    with live_idp(sqlite_settings) as idp, live_rp(SHOP, idp) as shop:
        browser = idp.browser()
        assert browser.get(f"{shop.url}/whoami").json()["logged_in"] is False
        to_idp = browser.get(f"{shop.url}/login", allow_redirects=False).headers["Location"]
        asked = parse_qs(urlsplit(to_idp).query)
        assert asked["code_challenge_method"] == ["S256"]
        assert asked["nonce"]
        assert asked["state"]
        assert asked["code_challenge"]
        page = idp.follow(browser, to_idp)
        assert page.status_code == 200, page.text
        who = browser.get(f"{shop.url}/whoami").json()
        assert who["logged_in"] is True
        assert who["acr"] == "urn:jpki-idp:acr:ial2-aal2"
        assert who["amr"] == ["hwk", "pin", "mfa"]
        assert who["allowed"] == {"buy": True, "pay_later": True}
        assert who["why"] == {}
        (login,) = state_of(shop.app).store.logins()
        assert login.tokens["access_token"]  # kept for resource-server calls
        assert login.sid == login.id_token_claims["sid"]


def test_logout_ends_the_rp_session_and_the_idp_session(sqlite_settings: Settings) -> None:
    with live_idp(sqlite_settings) as idp, live_rp(SHOP, idp) as shop:
        browser = idp.browser()
        idp.follow(browser, f"{shop.url}/login")
        asked = browser.get(f"{shop.url}/logout")
        assert 'id="logout-confirm"' in asked.text  # a GET only asks
        assert browser.get(f"{shop.url}/whoami").json()["logged_in"] is True
        back = idp.follow(browser, _posted(browser, f"{shop.url}/logout"))
        assert back.url.startswith(shop.url)
        assert browser.get(f"{shop.url}/whoami").json()["logged_in"] is False
        # The IdP's session ended too: a silent login now needs the person.
        to_idp = browser.get(f"{shop.url}/login", allow_redirects=False).headers["Location"]
        assert idp.url + "/interaction/" in browser.get(
            to_idp, allow_redirects=False).headers["Location"]


def test_back_channel_logout_refuses_a_forged_token(sqlite_settings: Settings) -> None:
    with live_idp(sqlite_settings) as idp, live_rp(SHOP, idp) as shop:
        assert requests.post(f"{shop.url}/backchannel-logout", data={}, timeout=5) \
            .status_code == 400
        forged = requests.post(f"{shop.url}/backchannel-logout", timeout=5,
                               data={"logout_token": "e30.e30.c2ln"})
        assert forged.status_code == 400
        assert forged.json()["error"] == "invalid_request"


@pytest.mark.parametrize("with_key", [True, False], ids=["private_key_jwt", "client_secret"])
def test_a_pushed_authorization_request(sqlite_settings: Settings, with_key: bool) -> None:
    from joserfc.jwk import ECKey

    key = {**ECKey.generate_key("P-256").as_dict(private=True), "kid": "shop-1"} \
        if with_key else None
    with live_idp(sqlite_settings) as idp, \
            live_rp(SHOP, idp, private_jwk=key, par=True) as shop:
        browser = idp.browser()
        to_idp = browser.get(f"{shop.url}/login", allow_redirects=False).headers["Location"]
        asked = parse_qs(urlsplit(to_idp).query)
        assert set(asked) == {"client_id", "request_uri"}  # the request itself was pushed
        assert asked["request_uri"][0].startswith("urn:ietf:params:oauth:request_uri:")
        idp.follow(browser, to_idp)
        assert browser.get(f"{shop.url}/whoami").json()["logged_in"] is True


def test_a_logout_elsewhere_reaches_the_rp_over_the_back_channel(
        sqlite_settings: Settings) -> None:
    with live_idp(sqlite_settings) as idp, live_rp(SHOP, idp) as shop:
        browser = idp.browser()
        idp.follow(browser, f"{shop.url}/login")
        assert browser.get(f"{shop.url}/whoami").json()["logged_in"] is True
        # The person logs out at the IdP itself (its own logout page, confirmed).
        page = browser.get(f"{idp.url}/logout")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None, page.text
        done = browser.post(f"{idp.url}/logout/confirm", data={"csrf_token": token[1]})
        assert done.status_code == 200, done.text
        assert browser.get(f"{shop.url}/whoami").json()["logged_in"] is False


def _posted(browser: requests.Session, url: str) -> str:
    """POST ``url`` (a form's button); where it redirects."""
    answer = browser.post(url, allow_redirects=False)
    assert answer.status_code in (302, 303), answer.text
    return str(answer.headers["Location"])
