"""The sample RPs' journeys against a live IdP, driven by a requests browser (the browser suite,
tests/e2e/test_rp_journeys.py, walks them in Chromium)."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from idp.settings import Settings
from rp_examples.age_gate import PROFILE as AGE_GATE
from rp_examples.common import state_of
from rp_examples.portal import PROFILE as PORTAL
from rp_examples.portal_mail import PROFILE as PORTAL_MAIL
from tests.support.rp_site import live_idp, live_rp

pytestmark = pytest.mark.slow


def _born(years_ago: int) -> str:
    today = date.today()
    return today.replace(year=today.year - years_ago, day=min(today.day, 28)).isoformat()


@pytest.mark.parametrize(("birth_date", "verdict", "allowed"), [
    ("1980-04-01", "adult", True), (None, "minor", False), ("", "unknown", False)])
def test_the_age_gate_learns_the_verdict_and_nothing_else(
        sqlite_settings: Settings, birth_date: str | None, verdict: str, allowed: bool) -> None:
    with live_idp(sqlite_settings) as idp, live_rp(AGE_GATE, idp) as bar:
        browser = idp.browser(basic4={"birth_date": _born(19) if birth_date is None
                                      else birth_date})
        to_idp = browser.get(f"{bar.url}/login", allow_redirects=False).headers["Location"]
        asked = parse_qs(urlsplit(to_idp).query)
        assert asked["scope"] == ["openid"]
        page = idp.follow(browser, to_idp)
        assert f'data-verdict="{verdict}"' in page.text
        assert "山田" not in page.text
        who = browser.get(f"{bar.url}/whoami").json()
        assert who["allowed"] == {"serve_alcohol": allowed}
        assert set(who["claims"]) <= {"age_over_20"}
        (login,) = state_of(bar.app).store.logins()
        assert not {"name", "family_name", "given_name", "birthdate", "address", "gender",
                    "age_over_18", "age_over_65"} & set(login.id_token_claims)


def test_the_kiosk_screen_shows_the_verdict_of_the_phone_login(
        sqlite_settings: Settings) -> None:
    with live_idp(sqlite_settings) as idp, live_rp(AGE_GATE, idp) as bar:
        screen = requests.Session()
        first = screen.get(f"{bar.url}/?kiosk=1")
        ticket = parse_qs(urlsplit(first.url).query)["ticket"][0]
        assert 'id="qr"' in first.text
        assert f"/kiosk/{ticket}" in first.text
        phone = idp.browser(basic4={})
        done = idp.follow(phone, f"{bar.url}/kiosk/{ticket}")
        assert 'id="see-screen"' in done.text
        shown = screen.get(f"{bar.url}/kiosk", params={"ticket": ticket})
        assert 'data-verdict="adult"' in shown.text
        assert "山田" not in shown.text
        # A ticket settles once: a second phone cannot change what the screen shows.
        idp.follow(idp.browser(basic4={"birth_date": _born(15)}), f"{bar.url}/kiosk/{ticket}")
        again = screen.get(f"{bar.url}/kiosk", params={"ticket": ticket})
        assert 'data-verdict="adult"' in again.text


def test_portal_and_mail_share_one_login_and_one_logout(sqlite_settings: Settings) -> None:
    with live_idp(sqlite_settings) as idp, \
            live_rp(PORTAL, idp, sector="portal.example") as portal, \
            live_rp(PORTAL_MAIL, idp, sector="portal.example") as mail:
        browser = requests.Session()
        pid = idp.log_in(browser)
        idp.follow(browser, f"{portal.url}/login")
        at_portal = browser.get(f"{portal.url}/whoami").json()
        assert at_portal["logged_in"] is True
        # First visit to the mail service: it asks for consent once, never for a login.
        idp.follow(browser, f"{mail.url}/login")
        at_mail = browser.get(f"{mail.url}/whoami").json()
        assert at_mail["logged_in"] is True
        assert at_mail["sub"] == at_portal["sub"]  # one operator, one sector: one sub

        idp.follow(browser, _posted(browser, f"{portal.url}/logout"))
        assert browser.get(f"{portal.url}/whoami").json()["logged_in"] is False
        assert browser.get(f"{mail.url}/whoami").json()["logged_in"] is False

        # The person logs in again at the portal; the mail service finds the login silently.
        idp.log_in(browser, private_id=pid)
        idp.follow(browser, f"{portal.url}/login")
        hops = []
        url = f"{mail.url}/"
        while True:
            answer = browser.get(url, allow_redirects=False)
            if answer.status_code not in (302, 303):
                break
            url = urljoin(url, answer.headers["Location"])
            hops.append(url)
        assert not any("/interaction/" in hop for hop in hops), hops
        assert any("prompt=none" in hop for hop in hops), hops
        assert browser.get(f"{mail.url}/whoami").json()["logged_in"] is True


def _posted(browser: requests.Session, url: str) -> str:
    """POST ``url`` (a form's button); where it redirects."""
    answer = browser.post(url, allow_redirects=False)
    assert answer.status_code in (302, 303), answer.text
    return str(answer.headers["Location"])
