"""バー 年齢確認 (a bar's age check): asks the IdP one thing, ``age_over_20``, and nothing else.

No profile scope, no name, no birth date: the claims parameter names ``age_over_20`` alone, in
the ID token, and the bar never calls userinfo. Its page says 20歳以上 / 20歳未満 / 確認できません.
Kiosk mode (``?kiosk=1`` or ``RP_KIOSK=1``; :mod:`rp_examples.age_gate.kiosk`): the screen shows
a QR code; the person opens it on their phone and logs in there; the screen shows the verdict.
"""

from __future__ import annotations

from typing import Any

from rp_examples.common import Action, Ask, Login, Profile, Theme, text

CLAIM = "age_over_20"
ASK = Ask(claims={"id_token": {CLAIM: {"essential": True}}})
ADULT, MINOR, UNKNOWN = "adult", "minor", "unknown"
VERDICTS = {ADULT: text("20歳以上", "20 or over"), MINOR: text("20歳未満", "Under 20"),
            UNKNOWN: text("確認できません", "Cannot be confirmed")}


def verdict(login: Login | None) -> str | None:
    """adult, minor or unknown (the IdP left the claim out: no whole birth date, or the person
    declined to share it); None before any login."""
    if login is None:
        return None
    value = login.claims.get(CLAIM)
    return ADULT if value is True else MINOR if value is False else UNKNOWN


def _setup(app: Any) -> None:
    from rp_examples.age_gate.kiosk import add_routes

    add_routes(app)


def _on_login(login: Login) -> Any:
    from rp_examples.age_gate.kiosk import record

    return record(login)


PROFILE = Profile(
    name="age_gate",
    title=text("バー 年齢確認", "Bar — age check"),
    tagline=text("お酒の提供の前に、20歳以上かどうかだけを確認します。氏名や生年月日は受け取りません。",
                 "Before serving alcohol we check one thing: are you 20 or over. We never "
                 "receive your name or birth date."),
    theme=Theme(accent="#6d28d9", background="#f5f0ff", logo="BAR", radius="4px",
                font="Georgia, 'Hiragino Mincho ProN', 'Noto Serif JP', serif"),
    scope="openid",
    ask=ASK,
    userinfo=False,
    templates="rp_examples.age_gate",
    template="age_gate.html",
    default_port=8004,
    actions=(
        Action("serve_alcohol", text("お酒の提供", "Serving alcohol"),
               check=lambda login: verdict(login) == ADULT,
               why=text("20歳以上であることを確認できませんでした（20歳未満、または年齢が分かりません）。",
                        "We could not confirm that you are 20 or over (under 20, or the age "
                        "is unknown)."),
               remedy=text("ソフトドリンクをどうぞ。年齢の確認に同意しなかった場合は、もう一度確認してください。",
                           "Enjoy a soft drink. If you declined to share your age, check again."),
               ask=ASK),
    ),
    messages={
        "check_age": text("年齢を確認する", "Check my age"),
        "result": text("確認結果", "Result"),
        "only_this": text("このお店が受け取るのは「20歳以上かどうか」だけです。",
                          "All this bar receives is whether you are 20 or over."),
        "kiosk": text("キオスク表示", "Kiosk screen"),
        "scan": text("スマートフォンでQRコードを読み取り、ログインしてください。",
                     "Scan the QR code with your phone and log in there."),
        "open_link": text("またはこのリンクを開く", "or open this link"),
        "waiting": text("お待ちしています…", "Waiting…"),
        "next_guest": text("次のお客様", "Next guest"),
        "see_screen": text("確認しました。店内の画面をご覧ください。",
                           "Done. Please look at the screen in the bar."),
        "ticket_gone": text("このQRコードは期限切れです。画面の新しいコードを読み取ってください。",
                            "This QR code has expired. Scan the new one on the screen."),
    },
    view=lambda login, lang: {"verdict": verdict(login), "verdicts": VERDICTS},
    setup=_setup,
    on_login=_on_login,
)
