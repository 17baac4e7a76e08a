"""Every sample RP ``idp demo`` knows: one row each, in the order of their ports (P+2, P+3, ...).

A row says how to register the RP at the IdP (its client kind and paths) and how to present it
(title and what it demonstrates, Japanese and English). An RP whose module is not installed is
skipped, so a new one plugs in with its module and one row here.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from rp_examples.common.profile import Text, text

CALLBACK, POST_LOGOUT, BACKCHANNEL = "/callback", "/", "/backchannel-logout"


@dataclass(frozen=True)
class Entry:
    name: str
    module: str
    title: Text
    shows: Text
    client: str  # "secret" | "private_key_jwt" | "device"
    scopes: str = "openid"
    sector: str | None = None  # RPs of one operator share it (same pairwise sub)
    backchannel: bool = True

    def available(self) -> bool:
        return importlib.util.find_spec(self.module) is not None


CATALOGUE: tuple[Entry, ...] = (
    Entry("bank", "rp_examples.bank", text("テスト銀行", "Test Bank"),
          text("口座開設は本人確認済みの属性（verified_claims）と有効なカードが必要。高額の振込は"
               "カードの署名で承認。住所変更などの通知を受け取る。",
               "Account opening needs verified claims and a current card; a large transfer "
               "is approved with the card's signature; change events about customers."),
          "private_key_jwt", "openid profile address"),
    Entry("shop", "rp_examples.shop", text("テストショップ", "Test Shop"),
          text("パスキーだけでログイン。受け取った保証レベル（acr）と認証方法（amr）の意味を表示。",
               "A passkey is enough; shows the acr and amr it received and what they mean."),
          "secret"),
    Entry("age_gate", "rp_examples.age_gate", text("バー 年齢確認", "Bar age check"),
          text("20歳以上かどうかだけを受け取る（氏名・生年月日は受け取らない）。キオスク表示はQRコード。",
               "Receives only whether the person is 20 or over (no name, no birth date); "
               "a kiosk mode shows a QR code."),
          "secret", "openid age"),
    Entry("portal", "rp_examples.portal", text("テストポータル", "Test Portal"),
          text("同じ事業者の2つのサービスでシングルサインオン。片方でログアウトすると両方終了。",
               "Single sign-on across two services of one operator; logging out of one ends "
               "both."),
          "secret", sector="portal.example"),
    Entry("portal_mail", "rp_examples.portal_mail",
          text("テストポータル メール", "Test Portal Mail"),
          text("ポータルでログイン済みなら、聞かれずにログイン（prompt=none）。",
               "Logs in without asking when you are logged in at the portal (prompt=none)."),
          "secret", sector="portal.example"),
    Entry("tv", "rp_examples.tv", text("テストテレビ", "Test TV"),
          text("テレビでのログイン（デバイスフロー）: 画面のコードをスマートフォンで入力。",
               "Logging in on a TV (the device flow): enter the screen's code on a phone."),
          "device", backchannel=False),
)


def available() -> list[tuple[int, Entry]]:
    """(port offset from the demo's base port, entry) of every RP whose module exists."""
    return [(2 + index, entry) for index, entry in enumerate(CATALOGUE) if entry.available()]


def entry(name: str) -> Entry:
    return next(e for e in CATALOGUE if e.name == name)
