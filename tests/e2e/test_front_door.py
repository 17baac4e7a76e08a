"""The demo's front door and the account page in headless Chromium (tests/e2e/card_site.py).

A newcomer opens the IdP's ``/``: it says what the product is, lists the demo's services and
residents (from the ``demo.json`` that ``idp demo`` writes) with each card file and PIN, and
the life events to try. Everything the journey needs is read off that page: the card file and
PIN answer the card request, the life-event command shown is run as shown, and the account
page, reached by the page's own link, then tells in words and local dates what happened.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from idp.app import services_of
from tests.e2e.card_site import (
    SCREENSHOTS,
    Site,
    answer_with_card,
    card_login,
    chromium,
    new_page,
    no_csp_violations,
    onboard,
    sim_server,
    site,
)
from tests.integration.card_login.conftest import person

__all__ = ["chromium", "no_csp_violations", "sim_server", "site"]
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.usefixtures("no_csp_violations")]

# What `idp demo` records of its relying parties (the URLs are not opened by this journey).
RPS = [
    ("bank", 8002, "テスト銀行", "Test Bank",
     "口座開設はカードで確認済みの本人情報で。10万円を超える振込はカードの署名で。",
     "Account opening on card-verified facts; transfers over 100,000 yen signed with the card."),
    ("shop", 8003, "テストショップ", "Test Shop",
     "パスキーだけでログイン。受け取った acr/amr の意味を表示。",
     "A passkey is enough; shows the acr/amr it got and what they mean."),
    ("age_gate", 8004, "年齢確認（バー）", "Age gate (a bar)",
     "20歳以上かどうかだけを受け取り、氏名も生年月日も見ません。",
     "Receives only over-20 or not: never a name or a birth date."),
    ("portal", 8005, "ポータル", "Portal", "同じ事業者の2つのサービスでシングルサインオン。",
     "Single sign-on between two services of one operator."),
    ("portal_mail", 8006, "ポータル メール", "Portal Mail",
     "ポータルからのログアウトでこちらも終了。",
     "Logging out of the portal ends this one too."),
]


def write_demo(site: Site, residents: list[dict[str, Any]]) -> None:
    demo = {"idp": site.base, "jlis": site.sim.url,
            "rps": [{"name": name, "url": f"http://localhost:{port}",
                     "title": {"ja": ja, "en": en}, "shows": {"ja": shows_ja, "en": shows_en}}
                    for name, port, ja, en, shows_ja, shows_en in RPS],
            "residents": [{"person_id": r["person_id"], "name": r["name"],
                           "card_file": r["card_file"], "sign_pin": r.get("sign_pin"),
                           "auth_pin": r["auth_pin"]} for r in residents],
            "admin": None}
    path = services_of(site.app).settings.demo_file_path
    path.write_text(json.dumps(demo, ensure_ascii=False), encoding="utf-8")


def test_a_newcomer_follows_the_front_door_to_a_login_a_move_and_the_account_page(
        site: Site, chromium: Any, tmp_path: Path) -> None:
    taro = person(site.sim, tmp_path, "山田　太郎")
    write_demo(site, [{**taro, "name": "山田　太郎", "sign_pin": "ABCD1234",
                       "auth_pin": "1234"}])
    front, _ = new_page(chromium, passkeys=False)
    front.goto(f"{site.base}/")
    assert "マイナンバーカードの署名用電子証明書" in front.inner_text("#lead")
    assert front.locator("#rps tr[data-rp]").count() == len(RPS)
    resident = front.locator(f"article.resident[data-person='{taro['person_id']}']")
    card_file = resident.locator("dd code").nth(1).inner_text()
    sign_pin = resident.locator("dd.sign-pin code").inner_text()
    assert (card_file, sign_pin) == (taro["card_file"], "ABCD1234")
    front.screenshot(path=str(SCREENSHOTS / "front-door-ja.png"), full_page=True)
    front.goto(f"{site.base}/?lang=en")
    assert "Life events to try" in front.inner_text("#demo")
    front.screenshot(path=str(SCREENSHOTS / "front-door-en.png"), full_page=True)
    move = front.locator("#life-events dt[data-event=move] code").inner_text()
    front.context.close()

    # Sign up at a service with the card file and PIN the page gave, then move as it says.
    page, _ = onboard(site, chromium, card_file)
    page.context.close()
    argv = shlex.split(move)
    assert argv[:4] == ["idp", "sim", "person", "move"]
    site.sim.cli(*argv[2:])  # exactly the command the front page shows
    page, _ = card_login(site, chromium, card_file)
    page.wait_for_selector("button[data-card=reissue]")
    status = page.inner_text("#anchor-status")  # what J-LIS said, in words, in Japan time
    assert "再発行が必要" in status
    assert "署名用電子証明書が失効しています（記載事項の変更" in status
    assert "JST" in status
    page.screenshot(path=str(SCREENSHOTS / "reissue-status.png"), full_page=True)
    answer_with_card(page, "reissue", card_file, sign_pin)
    page.wait_for_url(f"{site.base}/rp/cb*")

    page.goto(f"{site.base}/")
    with page.expect_navigation():
        page.click("#account-link")
    anchor = page.inner_text("#anchor")
    assert "有効（本人確認の情報を提供できます）" in anchor
    assert "J-LISの回答：失効していません" in anchor
    assert "JST" in anchor
    assert "current" not in anchor
    assert "住所が変わりました" in page.inner_text("#basic4-history")
    assert "東京都港区芝公園4-2-8" in page.inner_text("#basic4")
    assert "再発行済み" in page.inner_text("#anchor-history")
    page.screenshot(path=str(SCREENSHOTS / "account-ja.png"), full_page=True)
    page.goto(f"{site.base}/account?lang=en")
    assert "Address changed" in page.inner_text("#basic4-history")
    assert "J-LIS answered: not revoked" in page.inner_text("#anchor")
    page.screenshot(path=str(SCREENSHOTS / "account-en.png"), full_page=True)
    page.context.close()
