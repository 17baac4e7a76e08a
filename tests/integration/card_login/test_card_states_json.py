"""Renewal, lost card, death and bad card answers, through the JSON face only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from idp import db as dbm
from idp.accounts import sessions
from idp.accounts.jpki_models import CardRequestRow
from idp.accounts.models import LoginSession, PrivateId
from idp.app import services_of
from idp.jpki.profile import Purpose
from tests.integration.card_login.conftest import (
    Browser,
    Idp,
    card_answer,
    card_sign,
    fetch,
    person,
    tbs,
)
from tests.integration.card_login.test_lifecycle_json import _answer, _card_login, _onboard


def _state_of(idp: Idp, holder: Browser) -> str:
    """The private ID state of the person the browser's (earlier) session belongs to."""
    cookie = holder.http.cookies.get(sessions.COOKIE_NAME)
    session_id = sessions.session_id_from_cookie(services_of(idp.app).oidc.cookie_secret,
                                                 cookie)
    with services_of(idp.app).sessions() as db:
        row = db.get(LoginSession, session_id)
        assert row is not None
        person_row = db.get(PrivateId, row.private_id)
        assert person_row is not None
        return person_row.state


def _refused_login(idp: Idp, card_file: str) -> tuple[Browser, str]:
    browser = idp.browser()
    browser.authorize()
    url = browser.act("card").json()["request_url"]
    signed = card_sign(url, card_file, "1234")
    assert signed.returncode == 1
    status = browser.status().json()
    assert status["status"] == "refused"
    return browser, str(status["error"])


def test_after_a_renewal_the_card_login_lands_on_the_same_private_id(
        idp: Idp, tmp_path: Path) -> None:
    shiro = person(idp.sim, tmp_path, "伊藤　四郎")
    sub = _onboard(idp, shiro["card_file"]).tokens()["id_token"]["sub"]
    _card_login(idp, shiro["card_file"])
    idp.sim.cli("person", "renew", shiro["person_id"])
    browser = _card_login(idp, shiro["card_file"])
    assert browser.state["prompt"] == "reissue"  # the renewed signing certificate is new
    _answer(browser, "reissue", shiro["card_file"], "ABCD1234")
    browser.continue_after_card()
    assert browser.tokens()["id_token"]["sub"] == sub


def test_a_lost_card_suspends_the_account_and_found_card_restores_it(
        idp: Idp, tmp_path: Path) -> None:
    goro = person(idp.sim, tmp_path, "渡辺　五郎")
    _onboard(idp, goro["card_file"])
    holder = _card_login(idp, goro["card_file"])
    idp.sim.cli("person", "lose-card", goro["person_id"])
    _browser, error = _refused_login(idp, goro["card_file"])
    assert error == "certificate_revoked"
    assert _state_of(idp, holder) == "suspended"
    idp.sim.cli("person", "found-card", goro["person_id"])
    again = _card_login(idp, goro["card_file"])
    assert _state_of(idp, again) == "active"


def test_death_closes_the_account(idp: Idp, tmp_path: Path) -> None:
    rokuro = person(idp.sim, tmp_path, "山本　六郎")
    _onboard(idp, rokuro["card_file"])
    holder = _card_login(idp, rokuro["card_file"])
    idp.sim.cli("person", "die", rokuro["person_id"])
    _refused_login(idp, rokuro["card_file"])
    assert _state_of(idp, holder) == "closed"


def test_an_answer_signed_for_another_request_is_refused(idp: Idp, tmp_path: Path) -> None:
    nana = person(idp.sim, tmp_path, "中村　七子", birth="1990-07-07")
    _onboard(idp, nana["card_file"])
    browser = idp.browser()
    browser.authorize()
    first = browser.act("card").json()["request_url"]
    second = browser.act("card").json()["request_url"]
    answer = card_answer(nana["card_file"], "1234", Purpose.AUTH, tbs(fetch(first)))
    refused = requests.post(second, json=answer, timeout=10)
    assert refused.status_code == 400
    assert refused.json()["error"] == "wrong_digest"


def test_an_answer_signed_for_a_request_of_another_purpose_is_refused(
        idp: Idp, tmp_path: Path) -> None:
    """The signed text names the purpose: a signature over a login request's text does not
    answer an onboarding request, even made with the right (signing) key."""
    ichiro = person(idp.sim, tmp_path, "松本　一郎", birth="1983-03-03")
    browser = idp.browser()
    browser.authorize()
    browser.agree_to_terms()
    login_url = browser.act("card").json()["request_url"]
    onboard_url = browser.act("onboard").json()["request_url"]
    assert fetch(login_url)["purpose"] != fetch(onboard_url)["purpose"]
    answer = card_answer(ichiro["card_file"], "ABCD1234", Purpose.SIGN, tbs(fetch(login_url)))
    refused = requests.post(onboard_url, json=answer, timeout=10)
    assert refused.status_code == 400
    assert refused.json()["error"] == "wrong_digest"


def test_a_second_answer_to_the_same_request_is_refused(idp: Idp, tmp_path: Path) -> None:
    hachi = person(idp.sim, tmp_path, "小林　八郎")
    _onboard(idp, hachi["card_file"])
    browser = idp.browser()
    browser.authorize()
    url = browser.act("card").json()["request_url"]
    answer = card_answer(hachi["card_file"], "1234", Purpose.AUTH, tbs(fetch(url)))
    assert requests.post(url, json=answer, timeout=10).status_code == 200
    replayed = requests.post(url, json=answer, timeout=10)
    assert replayed.status_code == 409
    assert replayed.json()["error"] == "request_used"


def test_the_wrong_certificate_type_is_refused(idp: Idp, tmp_path: Path) -> None:
    kyu = person(idp.sim, tmp_path, "加藤　九郎")
    browser = idp.browser()
    browser.authorize()
    browser.agree_to_terms()
    url = browser.act("onboard").json()["request_url"]
    answer = card_answer(kyu["card_file"], "1234", Purpose.AUTH, tbs(fetch(url)))
    refused = requests.post(url, json=answer, timeout=10)
    assert refused.status_code == 422
    assert refused.json()["error"] == "wrong_certificate_type"


def test_only_the_browser_that_made_the_request_continues(idp: Idp, tmp_path: Path) -> None:
    ju = person(idp.sim, tmp_path, "吉田　十郎")
    _onboard(idp, ju["card_file"])
    browser = idp.browser()
    browser.authorize()
    _answer(browser, "card", ju["card_file"], "1234")
    other = idp.browser()
    other.state = browser.state
    assert other.status().status_code == 403
    assert other.status().json()["error"] == "wrong_browser"
    assert browser.continue_after_card()["prompt"] == "returned"


def test_a_blocked_pin_is_reported_by_the_card_client(idp: Idp, tmp_path: Path) -> None:
    juichi = person(idp.sim, tmp_path, "松本　十一")
    browser = idp.browser()
    browser.authorize()
    url = browser.act("card").json()["request_url"]
    for _ in range(3):
        card_sign(url, juichi["card_file"], "9999", "--force")
    blocked = card_sign(url, juichi["card_file"], "1234")
    assert blocked.returncode == 1
    assert "blocked" in blocked.stderr


def test_an_expired_request_is_refused(idp: Idp, tmp_path: Path) -> None:
    juni = person(idp.sim, tmp_path, "井上　十二")
    browser = idp.browser()
    browser.authorize()
    url = browser.act("card").json()["request_url"]
    answer = card_answer(juni["card_file"], "1234", Purpose.AUTH, tbs(fetch(url)))
    with dbm.transaction(services_of(idp.app).sessions) as db:
        row = db.get(CardRequestRow, url.rsplit("/", 1)[1])
        assert row is not None
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    refused = requests.post(url, json=answer, timeout=10)
    assert refused.status_code == 410
    assert refused.json()["error"] == "request_expired"
