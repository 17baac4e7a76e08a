"""What a relying party may rely on, as the person sees it in Chromium (issue 12): the consent page
lists each kind of claim by what is shared — the plain profile, the identity verified with the
My Number Card, and "20歳以上であること" without the birth date — in Japanese and English; after
consent, a document to sign is shown in full before the card is asked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask

from idp import db
from idp.accounts.sessions import COOKIE_NAME
from idp.app import services_of
from idp.oidc import clients
from idp.settings import Settings
from tests.support.anchor import anchor
from tests.support.browser import SCREENSHOTS, browser, watch_csp
from tests.support.login import login_session
from tests.support.site import CurrentAnchors, at_origin, serving
from tests.unit.oidc.conftest import pkce

pytestmark = pytest.mark.browser

VERIFIED = {"verification": {"trust_framework": {"value": "jp_aml"}},
            "claims": {"name": None, "address": None}}
DOCUMENT = {"title": "振込の承認", "text": "振込先: 青空銀行 本店 普通 1234567\n金額: 2,500,000円"}
LABELS = {
    "ja": ["20歳以上であること（生年月日は送りません）", "氏名（マイナンバーカードで確認済み）"],
    "en": ["That you are 20 or older (not your date of birth)",
           "Name (verified with your My Number Card)"],
}


@pytest.fixture
def idp(sqlite_settings: Settings) -> Iterator[tuple[Flask, str, str]]:
    with serving(lambda base: at_origin(sqlite_settings, base),
                 anchors=CurrentAnchors()) as (app, base):
        with db.transaction(services_of(app).sessions) as session:
            client_id, _ = clients.register(session, name="テスト銀行",
                                            redirect_uris=[f"{base}/rp/cb"])
        yield app, base, client_id


def _authorize(base: str, client_id: str, lang: str, **extra: str) -> str:
    _, challenge = pkce()
    return f"{base}/authorize?" + urlencode({
        "client_id": client_id, "redirect_uri": f"{base}/rp/cb", "response_type": "code",
        "scope": "openid profile age", "state": "st", "nonce": "n",
        "code_challenge": challenge, "code_challenge_method": "S256", "ui_locales": lang,
        "claims": json.dumps({"id_token": {"verified_claims": VERIFIED}}), **extra})


def _signed_in(app: Flask, context: Any, base: str) -> None:
    private_id, cookie = login_session(app)
    anchor(app, private_id)  # a current JPKI anchor: the verified claims can be released
    context.add_cookies([{"name": COOKIE_NAME, "value": cookie, "url": base}])


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_consent_page_names_each_kind_by_what_is_shared(
        idp: tuple[Flask, str, str], lang: str) -> None:
    app, base, client_id = idp
    with browser() as chromium:
        context = chromium.new_context(viewport={"width": 800, "height": 900})
        context.add_cookies([{"name": "lang", "value": lang, "url": base}])
        page = context.new_page()
        violations = watch_csp(page)
        _signed_in(app, context, base)
        page.goto(_authorize(base, client_id, lang))
        text = page.inner_text("body")
        for label in LABELS[lang]:
            assert label in text
        assert "1980" not in text  # the birth date itself is never on the page
        assert "claim." not in text  # every item is named in words, not by its key
        assert page.locator('input[value="age_over_20"]').count() == 1
        assert page.locator('input[value="verified_claims.name"]').count() == 1
        page.screenshot(path=str(SCREENSHOTS / f"consent-kinds-{lang}.png"), full_page=True)
        context.close()
    assert violations == []


def test_a_document_to_sign_is_shown_in_full_after_consent(idp: tuple[Flask, str, str]) -> None:
    app, base, client_id = idp
    details = json.dumps([{"type": "jpki_signature", "document": DOCUMENT}], ensure_ascii=False)
    with browser() as chromium:
        context = chromium.new_context(viewport={"width": 800, "height": 900})
        context.add_cookies([{"name": "lang", "value": "ja", "url": base}])
        page = context.new_page()
        violations = watch_csp(page)
        _signed_in(app, context, base)
        page.goto(_authorize(base, client_id, "ja", authorization_details=details))
        with page.expect_navigation():
            page.click("button[data-approve=true]")
        page.wait_for_selector("#document-text")
        assert page.inner_text("#document-title") == DOCUMENT["title"]
        assert page.inner_text("#document-text") == DOCUMENT["text"]
        page.screenshot(path=str(SCREENSHOTS / "sign-document.png"), full_page=True)
        context.close()
    assert violations == []
