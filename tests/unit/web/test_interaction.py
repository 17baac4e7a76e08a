"""The interaction's JSON face and its HTML page: state, actions, CSRF, language."""

from __future__ import annotations

from tests.unit.oidc.conftest import REDIRECT, Rp, query


def test_login_prompt_offers_the_login_methods_and_abort(rp: Rp) -> None:
    location, _ = rp.authorize()
    state = rp.interaction(location)
    assert state["prompt"] == "login"
    assert state["reasons"] == ["no_session"]
    assert {"abort", "passkey_options", "passkey_verify"} <= set(state["actions"])
    assert state["client"] == {"client_id": rp.client_id, "name": "Example RP"}
    assert "account" not in state
    assert state["csrf_token"]


def test_consent_prompt_lists_claims_and_links_actions(rp: Rp) -> None:
    rp.login()
    location, _ = rp.authorize(scope="openid birthdate", acr_values="urn:jpki-idp:acr:ial2-aal2")
    state = rp.interaction(location)
    assert state["prompt"] == "consent"
    assert state["requested"] == {"acr_values": ["urn:jpki-idp:acr:ial2-aal2"],
                                  "claims": ["birthdate"], "scope": ["openid", "birthdate"]}
    assert state["actions"]["consent"] == {"method": "POST",
                                           "href": location.split("idp.test")[-1] + "/consent"}
    assert state["account"]["acr"] == "urn:jpki-idp:acr:ial2-aal2"


def test_a_post_without_the_csrf_token_is_refused(rp: Rp) -> None:
    rp.login()
    state = rp.interaction(rp.authorize()[0])
    response = rp.browser.post(state["actions"]["consent"]["href"],
                               json={"approve": True, "claims": []})
    assert response.status_code == 403
    assert response.get_json()["error"] == "csrf_failed"


def test_a_form_post_instead_of_json_is_refused(rp: Rp) -> None:
    rp.login()
    state = rp.interaction(rp.authorize()[0])
    response = rp.browser.post(state["actions"]["consent"]["href"], data={"approve": "true"},
                               headers={"X-CSRF-Token": state["csrf_token"]})
    assert response.status_code == 400


def test_declining_consent_sends_access_denied_to_the_rp(rp: Rp) -> None:
    rp.login()
    state = rp.interaction(rp.authorize()[0])
    redirect_to = rp.act(state, "consent", {"approve": False, "claims": []}).get_json()[
        "redirect_to"]
    assert redirect_to.startswith(REDIRECT)
    assert query(redirect_to)["error"] == "access_denied"


def test_abort_ends_the_interaction(rp: Rp) -> None:
    location, _ = rp.authorize()
    state = rp.interaction(location)
    redirect_to = rp.act(state, "abort", {}).get_json()["redirect_to"]
    assert query(redirect_to)["error"] == "access_denied"
    again = rp.browser.get(location.split("idp.test")[-1],
                           headers={"Accept": "application/json"})
    assert again.status_code == 404


def test_a_finished_step_answers_redirect_to(rp: Rp) -> None:
    location, _ = rp.authorize()
    rp.login()  # the person logs in meanwhile (card/passkey in production)
    state = rp.interaction(location)
    assert state["prompt"] == "consent"
    rp.act(state, "consent", {"approve": True, "claims": ["name"]})
    second, _ = rp.authorize()
    assert query(second)["code"]


def test_the_page_is_japanese_by_default_and_english_on_request(rp: Rp) -> None:
    path = rp.authorize()[0].split("idp.test")[-1]
    japanese = rp.browser.get(path).get_data(as_text=True)
    assert "マイナンバーカード" in japanese
    english = rp.browser.get(path + "?lang=en").get_data(as_text=True)
    assert "My Number Card" in english
    accept = rp.browser.get(path, headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "My Number Card" in accept.get_data(as_text=True)


def test_the_json_message_is_localised(rp: Rp) -> None:
    path = rp.authorize()[0].split("idp.test")[-1]
    response = rp.browser.get(path, headers={"Accept": "application/json",
                                             "Accept-Language": "en"})
    assert "My Number Card" in response.get_json()["message"]


def test_the_consent_page_says_approving_covers_change_events_in_both_languages(
        rp: Rp) -> None:
    location, _ = rp.authorize()
    rp.login()
    path = location.split("idp.test")[-1]
    japanese = rp.browser.get(path).get_data(as_text=True)
    assert "Example RP はここで提供する情報に関わる変更の通知も受け取ります" in japanese
    english = rp.browser.get(path + "?lang=en").get_data(as_text=True)
    assert "you also let Example RP be told when what it receives here changes" in english
    assert "Withdraw your consent on your account page" in english
