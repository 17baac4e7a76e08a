"""The tv sample RP against a live IdP: the TV screen shows the code and its QR code, the TV's
backend polls, the person approves on their phone, the TV shows the health page; a declined
request, and the TV's logout."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from idp import db
from idp.app import services_of
from idp.oidc import clients
from idp.settings import Settings
from rp_examples.common import RpConfig, make_app
from rp_examples.tv import PROFILE as TV
from tests.support.rp_site import LiveIdp, LiveRp, _served, live_idp

pytestmark = pytest.mark.slow
JSON = {"Accept": "application/json"}


@contextmanager
def live_tv(idp: LiveIdp) -> Iterator[LiveRp]:
    """The tv RP, registered as ``idp demo`` does (``idp clients add --device``), served."""
    with _served() as (late, url):
        with db.transaction(services_of(idp.app).sessions) as session:
            client_id = clients.register_device(session, name="テストテレビ")
        config = RpConfig(issuer=idp.url, client_id=client_id, base_url=url)
        late.app = make_app(TV, config)
        yield LiveRp(url, late.app, config, client_id)


@pytest.fixture
def settings_1s(sqlite_settings: Settings) -> Settings:
    """A poll interval of 1 s, so that the TV's backend polls again within a test."""
    return sqlite_settings.model_copy(update={"oidc": sqlite_settings.oidc.model_copy(
        update={"device_poll_interval_seconds": 1})})


def phone_answers(idp: LiveIdp, phone: requests.Session, uri: str, *,
                  approve: bool) -> dict[str, Any]:
    """The person scans the QR code: /device with the code filled in, consent, then approve or
    deny, all through the JSON faces. The /device/done face."""
    face = phone.get(uri, headers=JSON).json()

    def act(state: dict[str, Any], name: str, body: dict[str, Any] | None = None) -> Any:
        answer = phone.post(idp.url + state["actions"][name]["href"], json=body or {},
                            headers={"X-CSRF-Token": state["csrf_token"]})
        assert answer.status_code == 200, answer.text
        return answer.json()["redirect_to"]

    state = phone.get(act(face, "user_code", {"user_code": face["user_code"]}),
                      headers=JSON).json()
    if state["prompt"] == "consent":
        state = phone.get(act(state, "consent", {"approve": True, "claims": state[
            "requested"]["claims"]}), headers=JSON).json()
    assert state["prompt"] == "approve", state
    assert state["client"]["name"] == "テストテレビ"
    done: dict[str, Any] = phone.get(act(state, "approve" if approve else "deny"),
                                     headers=JSON).json()
    return done


def poll_until(tv: requests.Session, url: str, status: str) -> dict[str, Any]:
    """Reload the TV's status (each load polls when due) until it says ``status``."""
    for _ in range(20):
        found: dict[str, Any] = tv.get(f"{url}/screen/status").json()
        if found["status"] == status:
            return found
        time.sleep(0.6)
    raise AssertionError(f"the TV never reached {status}: {found}")


def test_the_tv_shows_a_code_and_qr_then_the_health_page_after_the_phone_approves(
        settings_1s: Settings) -> None:
    with live_idp(settings_1s) as idp, live_tv(idp) as tv_rp:
        tv = requests.Session()
        screen = tv.get(f"{tv_rp.url}/login")
        assert urlsplit(screen.url).path == "/screen"
        status = tv.get(f"{tv_rp.url}/screen/status").json()
        assert status["status"] == "waiting"
        assert status["user_code"] in screen.text
        assert 'id="qr"' in screen.text
        assert status["verification_uri"] == idp.url + "/device"
        assert status["polls"] >= 1  # the backend polled: authorization_pending
        assert "device_code" not in screen.text  # the device code never leaves the TV's server

        phone = idp.browser(basic4={"birth_date": "1978-05-05"})
        assert phone_answers(idp, phone, status["verification_uri_complete"],
                             approve=True)["status"] == "approved"
        assert poll_until(tv, tv_rp.url, "signed_in")["logged_in"] is True

        home = tv.get(f"{tv_rp.url}/").text
        assert 'id="checkups"' in home
        assert "サンプル（架空のデータ）" in home  # the checkups are labelled as made up
        assert 'id="age-band"' in home
        who = tv.get(f"{tv_rp.url}/whoami").json()
        assert who["logged_in"] is True
        assert who["acr"] == "urn:jpki-idp:acr:ial2-aal2"
        assert who["allowed"] == {"watch": True, "health_record": True}
        assert who["claims"]["name"].startswith("山田")

        (refresh,) = tv_rp.app.extensions["tv_flows"].refresh_tokens.values()
        tv.post(f"{tv_rp.url}/logout")
        assert tv.get(f"{tv_rp.url}/whoami").json()["logged_in"] is False
        reused = requests.post(f"{idp.url}/token", timeout=10, data={
            "grant_type": "refresh_token", "refresh_token": refresh,
            "client_id": tv_rp.client_id})
        assert reused.json()["error"] == "invalid_grant"  # the TV's logout revoked its grant


def test_a_declined_sign_in_leaves_the_tv_signed_out_and_saying_so(
        settings_1s: Settings) -> None:
    with live_idp(settings_1s) as idp, live_tv(idp) as tv_rp:
        tv = requests.Session()
        tv.get(f"{tv_rp.url}/login")
        status = tv.get(f"{tv_rp.url}/screen/status").json()
        phone = idp.browser()
        assert phone_answers(idp, phone, status["verification_uri_complete"],
                             approve=False)["status"] == "denied"
        poll_until(tv, tv_rp.url, "denied")
        screen = tv.get(f"{tv_rp.url}/screen").text
        assert 'data-status="denied"' in screen
        assert 'id="again"' in screen
        assert tv.get(f"{tv_rp.url}/whoami").json()["logged_in"] is False


def test_a_person_without_a_proven_identity_sees_no_checkups(settings_1s: Settings) -> None:
    with live_idp(settings_1s) as idp, live_tv(idp) as tv_rp:
        tv = requests.Session()
        tv.get(f"{tv_rp.url}/login")
        status = tv.get(f"{tv_rp.url}/screen/status").json()
        phone = idp.browser(acr="urn:jpki-idp:acr:ial1-aal2")
        phone_answers(idp, phone, status["verification_uri_complete"], approve=True)
        poll_until(tv, tv_rp.url, "signed_in")
        home = tv.get(f"{tv_rp.url}/").text
        assert 'id="need-card"' in home
        assert 'id="checkups"' not in home
        who = tv.get(f"{tv_rp.url}/whoami").json()
        assert who["allowed"]["health_record"] is False
