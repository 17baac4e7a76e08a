"""テストポータル メール (Test Portal Mail): the portal operator's second service.

It asks the IdP for ``openid`` alone: the mailbox is found by the ``sub``, the same one the
portal sees (one sector identifier). It logs in silently when the person is logged in at the
IdP (see :mod:`rp_examples.portal`), and its session ends when the portal's does.
"""

from __future__ import annotations

import os
from typing import Any

from rp_examples.common import Action, Login, Profile, Theme, text

MAILS = (
    (text("テストポータル事務局", "Test Portal"),
     text("ご登録ありがとうございます", "Welcome aboard")),
    (text("テストショップ", "Test Shop"),
     text("ご注文の商品を発送しました", "Your order has shipped")),
    (text("町内会", "Neighbourhood association"), text("清掃活動のお知らせ", "Clean-up day")),
)


def view(login: Login | None, lang: str) -> dict[str, Any]:
    return {"peer_url": os.environ.get("RP_PEER_URL"), "mails": MAILS}


PROFILE = Profile(
    name="portal_mail",
    title=text("テストポータル メール", "Test Portal Mail"),
    tagline=text("テストポータルのメールサービス。ポータルと同じログインで使えます。",
                 "Test Portal's mail service, on the same login as the portal."),
    theme=Theme(accent="#1864ab", background="#eef4fc", logo="MAIL", radius="10px"),
    scope="openid",
    templates="rp_examples.portal_mail",
    template="portal_mail.html",
    default_port=8006,
    single_sign_on=True,
    actions=(Action.for_anyone("read_mail", text("メールを読む", "Read mail")),),
    messages={
        "inbox": text("受信トレイ", "Inbox"),
        "peer": text("テストポータルへ", "To Test Portal"),
    },
    view=view,
)
