"""テストポータル (Test Portal): the first of two services of one operator.

Both services are registered under one sector identifier (so the IdP gives them the same
pairwise ``sub``), both try a silent login first (``prompt=none``), and both take back-channel
logout: logging in at one logs the person into the other without asking, logging out of one
(RP-initiated logout at the IdP) ends the other's session too. ``RP_PEER_URL`` is the other
service's address, for the link between them.
"""

from __future__ import annotations

import os
from typing import Any

from rp_examples.common import Action, Login, Profile, Theme, text

MESSAGES = {
    "peer": text("テストポータル メールへ", "To Test Portal Mail"),
    "peer_note": text("同じ事業者のメールサービスです。"
                      "ここでログインしていれば、聞かれずにログインできます。",
                      "The same operator's mail service: logged in here, you are logged in "
                      "there without being asked."),
    "welcome": text("ようこそ", "Welcome"),
    "news": text("今日のニュース", "Today's news"),
}
NEWS = (text("週末は全国的に晴れ", "Sunny weekend across Japan"),
        text("マイナンバーカードの電子証明書、更新はお早めに",
             "Renew your My Number Card's certificates in time"),
        text("新しい駅ビルが開業", "A new station building opens"))


def view(login: Login | None, lang: str) -> dict[str, Any]:
    return {"peer_url": os.environ.get("RP_PEER_URL"), "news": NEWS}


PROFILE = Profile(
    name="portal",
    title=text("テストポータル", "Test Portal"),
    tagline=text("ニュース、天気、メール。ひとつのログインで。",
                 "News, weather and mail, with one login."),
    theme=Theme(accent="#0b7285", background="#eefafc", logo="PORTAL", radius="10px"),
    scope="openid profile",
    templates="rp_examples.portal",
    template="portal.html",
    default_port=8005,
    single_sign_on=True,
    actions=(Action.for_anyone("read_news", text("ニュースを読む", "Read the news")),),
    messages=MESSAGES,
    view=view,
)
