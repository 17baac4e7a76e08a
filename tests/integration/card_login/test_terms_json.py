"""The terms step before onboarding, through the JSON face: shown, agreed, recorded, required.

Before the card is asked to onboard, the interaction offers ``agree`` (with the terms version);
``GET`` on its link describes the terms and the J-LIS link, ``POST`` agrees (CSRF-protected). An
onboarding without it is refused; with it, the private ID records the terms and the J-LIS link
consent with the version and the time the person agreed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from idp.accounts.jpki_models import CardRequestRow, JpkiConsent
from idp.accounts.terms import TERMS_VERSION
from idp.app import services_of
from tests.integration.card_login.conftest import Browser, Idp, person
from tests.integration.card_login.test_lifecycle_json import _answer
from tests.support import schema


def _at_login(idp: Idp) -> Browser:
    browser = idp.browser()
    assert browser.authorize()["prompt"] == "login"
    return browser


def test_onboarding_without_agreeing_to_the_terms_is_refused_and_asks_for_nothing(
        idp: Idp) -> None:
    browser = _at_login(idp)
    assert browser.state["actions"]["agree"]["version"] == TERMS_VERSION
    refused = browser.act("onboard")
    assert refused.status_code == 403
    assert refused.json()["error"] == "terms_not_agreed"
    assert "利用規約" in refused.json()["error_description"]
    with services_of(idp.app).sessions() as session:
        made = session.scalars(select(CardRequestRow).where(
            CardRequestRow.interaction_uid == browser.state["uid"])).all()
    assert made == []  # no card request, so the card is never asked


def test_the_terms_show_their_version_and_what_the_jlis_link_means_in_ja_and_en(
        idp: Idp) -> None:
    browser = _at_login(idp)
    href = idp.url + browser.state["actions"]["agree"]["href"]
    japanese = browser.http.get(href, headers={"Accept": "application/json"}).json()
    assert japanese["version"] == TERMS_VERSION
    assert "J-LIS" in japanese["jlis_link"]
    assert "シリアル番号" in japanese["jlis_link"]
    assert japanese["agreed"] is False
    english = browser.http.get(href, headers={"Accept-Language": "en"}).json()
    assert "serial number" in english["jlis_link"]


def test_agreeing_needs_the_csrf_token_an_explicit_yes_and_the_current_version(
        idp: Idp) -> None:
    browser = _at_login(idp)
    href = idp.url + browser.state["actions"]["agree"]["href"]
    forged = browser.http.post(href, json={"agree": True, "version": TERMS_VERSION})
    assert forged.status_code == 403
    assert forged.json()["error"] == "csrf_failed"
    assert browser.act("agree", {"agree": False, "version": TERMS_VERSION}).status_code == 400
    stale = browser.act("agree", {"agree": True, "version": "2001-01"})
    assert stale.status_code == 409
    assert stale.json()["error"] == "terms_outdated"
    assert browser.act("onboard").status_code == 403  # none of these was an agreement


def test_onboarding_records_the_terms_and_jlis_link_consent_with_when_they_were_agreed(
        idp: Idp, tmp_path: Path) -> None:
    ume = person(idp.sim, tmp_path, "斎藤　梅子", birth="1988-03-03")
    browser = _at_login(idp)
    agreed = browser.agree_to_terms().json()["terms"]
    assert agreed["version"] == TERMS_VERSION
    assert "agree" not in browser.show(f"/interaction/{browser.state['uid']}")["actions"]
    _answer(browser, "onboard", ume["card_file"], "ABCD1234")
    state = browser.continue_after_card()
    assert state["prompt"] == "consent"
    with services_of(idp.app).sessions() as session:
        consents = session.scalars(select(JpkiConsent).order_by(JpkiConsent.id.desc())).all()
    recorded = {c.kind: c for c in consents[:2]}
    assert set(recorded) == {"terms", "jlis_link"}
    agreed_at = datetime.fromisoformat(agreed["agreed_at"])
    for consent in recorded.values():
        assert consent.version == TERMS_VERSION
        at = consent.at if consent.at.tzinfo else consent.at.replace(tzinfo=UTC)
        assert abs((at - agreed_at).total_seconds()) < 0.001  # the agreement's own time


def test_onboarding_again_under_the_same_terms_keeps_one_record_of_each_consent(
        idp: Idp, tmp_path: Path) -> None:
    kiku = person(idp.sim, tmp_path, "小林　菊", birth="1975-11-11")

    def onboard() -> list[str]:
        """Onboard Kiku; the kinds of consent rows this onboarding added."""
        with services_of(idp.app).sessions() as session:
            before = session.scalar(select(func.max(JpkiConsent.id))) or 0
        browser = _at_login(idp)
        browser.agree_to_terms()
        _answer(browser, "onboard", kiku["card_file"], "ABCD1234")
        browser.continue_after_card()
        with services_of(idp.app).sessions() as session:
            return sorted(session.scalars(select(JpkiConsent.kind).where(
                JpkiConsent.id > before)).all())

    assert onboard() == ["jlis_link", "terms"]
    assert onboard() == []  # the same person, the same terms version: nothing new to record


def test_migration_0007_matches_the_card_request_model(database_url: str) -> None:
    assert schema.differences(database_url, "card_requests") == []
