"""An interaction answers only the browser the authorize response went to (issue 5)."""

from __future__ import annotations

from urllib.parse import urlsplit

from idp.accounts.card_requests import BROWSER_COOKIE, browser_hash
from idp.app import services_of
from idp.oidc.models import Interaction
from idp.web.binding import browser_binding
from tests.unit.oidc.conftest import Rp


def test_authorize_gives_the_browser_an_httponly_lax_binding_cookie(rp: Rp) -> None:
    response = rp.browser.get("/authorize", query_string={
        "client_id": rp.client_id, "redirect_uri": "https://rp.example/cb",
        "response_type": "code", "scope": "openid", "nonce": "n", "code_challenge": "x" * 43,
        "code_challenge_method": "S256"})
    cookie = next(h for h in response.headers.getlist("Set-Cookie")
                  if h.startswith(BROWSER_COOKIE + "="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie

def test_the_browser_that_started_the_interaction_can_use_it(rp: Rp) -> None:
    location, _ = rp.authorize()
    state = rp.interaction(location)
    assert rp.act(state, "abort", {}).status_code == 200

def test_another_browser_is_refused_the_state_with_a_localised_403(rp: Rp) -> None:
    location, _ = rp.authorize()
    other = rp.app.test_client()
    path = urlsplit(location).path
    refused = other.get(path, headers={"Accept": "application/json"})
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "wrong_browser"
    assert "別のブラウザー" in refused.get_json()["error_description"]
    english = other.get(path + "?lang=en", headers={"Accept": "application/json"})
    assert "another browser" in english.get_json()["error_description"]

def test_another_browser_gets_an_html_refusal_page(rp: Rp) -> None:
    location, _ = rp.authorize()
    refused = rp.app.test_client().get(urlsplit(location).path, headers={"Accept": "text/html"})
    assert refused.status_code == 403
    assert "別のブラウザー" in refused.get_data(as_text=True)

def test_another_browser_cannot_post_even_with_the_csrf_token(rp: Rp) -> None:
    location, _ = rp.authorize()
    state = rp.interaction(location)
    other = rp.app.test_client()
    refused = other.post(state["actions"]["abort"]["href"], json={},
                         headers={"X-CSRF-Token": state["csrf_token"]})
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "wrong_browser"
    status = other.get(f"/interaction/{state['uid']}/status")
    assert status.status_code == 403
    assert rp.act(state, "abort", {}).status_code == 200  # still open for the real browser

def test_a_different_binding_cookie_is_refused(rp: Rp) -> None:
    location, _ = rp.authorize()
    other = rp.app.test_client()
    other.set_cookie(BROWSER_COOKIE, "guessed-value", domain="localhost")
    refused = other.get(urlsplit(location).path, headers={"Accept": "application/json"})
    assert refused.status_code == 403

def test_a_card_request_uses_the_same_binding(rp: Rp) -> None:
    location, _ = rp.authorize()
    state = rp.interaction(location)
    assert rp.browser.get_cookie(BROWSER_COOKIE) is not None
    other = rp.app.test_client()
    refused = other.post(state["actions"]["card"]["href"], json={},
                         headers={"X-CSRF-Token": state["csrf_token"]})
    assert refused.status_code == 403


def _bound_hash(rp: Rp, location: str) -> str | None:
    uid = urlsplit(location).path.rsplit("/", 1)[-1]
    with services_of(rp.app).sessions() as session:
        row = session.get(Interaction, uid)
        assert row is not None
        return row.browser_hash


def test_a_planted_binding_cookie_is_never_the_one_the_interaction_is_bound_to(rp: Rp) -> None:
    """Cookie tossing: another site sets idp_browser for the IdP's domain to a value it knows.
    The IdP binds the interaction to a value it mints and gives the browser that one."""
    planted = "planted-by-a-sibling-site"
    rp.browser.set_cookie(BROWSER_COOKIE, planted, domain="localhost")
    location, _ = rp.authorize()
    given = rp.browser.get_cookie(BROWSER_COOKIE, domain="localhost")
    assert given is not None
    assert given.value != planted
    assert _bound_hash(rp, location) == browser_hash(given.value) != browser_hash(planted)
    attacker = rp.app.test_client()
    attacker.set_cookie(BROWSER_COOKIE, planted, domain="localhost")
    refused = attacker.get(urlsplit(location).path, headers={"Accept": "application/json"})
    assert refused.status_code == 403


def test_a_planted_value_shaped_like_a_minted_one_is_not_adopted(rp: Rp) -> None:
    for planted in ("nonce." + "0" * 64, "nonce.\u00e9"):
        rp.browser.set_cookie(BROWSER_COOKIE, planted, domain="localhost")
        location, _ = rp.authorize()  # a redirect, never a 500
        assert _bound_hash(rp, location) != browser_hash(planted)


def test_the_tabs_of_one_browser_share_the_binding_the_idp_minted(rp: Rp) -> None:
    first, _ = rp.authorize()
    second, _ = rp.authorize()
    assert _bound_hash(rp, first) == _bound_hash(rp, second)
    for location in (first, second):
        state = rp.interaction(location)
        assert rp.act(state, "abort", {}).status_code == 200


def test_a_card_request_adopts_only_a_binding_the_idp_minted(rp: Rp) -> None:
    """The one function both the authorize and the card request take their binding from."""
    rp.authorize()
    minted = rp.browser.get_cookie(BROWSER_COOKIE, domain="localhost")
    assert minted is not None
    with rp.app.test_request_context(headers={"Cookie": f"{BROWSER_COOKIE}={minted.value}"}):
        assert browser_binding() == minted.value
    with rp.app.test_request_context(headers={"Cookie": f"{BROWSER_COOKIE}=planted"}):
        assert browser_binding() not in ("planted", minted.value)
