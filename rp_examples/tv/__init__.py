"""テストテレビ (Test TV): signing in on a TV with the device authorization grant (RFC 8628).

The TV has no browser worth typing in and no passkey: its screen (``/screen``) shows a short code
and a QR code, the person approves on their phone at the IdP's ``/device``, and the TV's backend
polls the IdP for the tokens (:mod:`rp_examples.tv.device`). Then the TV shows a health page: the
person's name and age band from the IdP, and checkup results that are a made-up sample
(:mod:`rp_examples.tv.health`). The checkups are shown only to a person whose identity the IdP
proved with the My Number Card (an ``ial2`` acr); anyone signed in may watch.
"""

from __future__ import annotations

from typing import Any

from rp_examples.common import Action, Ask, Login, Profile, Theme, text
from rp_examples.tv import health

IDENTITY_PROVEN = "urn:jpki-idp:acr:ial2-aal2"


def identity_proven(login: Login) -> bool:
    """ial2-* values: the IdP proved the identity with a current JPKI signing certificate."""
    return (login.acr or "").startswith("urn:jpki-idp:acr:ial2-")


def _view(login: Login | None, lang: str) -> dict[str, Any]:
    if login is None:
        return {}
    band = health.age_band(login.claims)
    return {"age_band": band[lang] if band else None,
            "checkups": health.checkups(login.sub) if identity_proven(login) else [],
            "sample_note": health.SAMPLE_NOTE[lang]}


def _setup(app: Any) -> None:
    from rp_examples.tv.device import add_routes

    add_routes(app)


PROFILE = Profile(
    name="tv",
    title=text("テストテレビ", "Test TV"),
    tagline=text("テレビでマイナンバーカードのIDにログイン。画面のコードをスマートフォンで入力するだけです。",
                 "Log in on your TV with your My Number ID: just enter the code on the screen "
                 "with your phone."),
    theme=Theme(accent="#0b5cad", background="#e6edf5", logo="TV", radius="12px"),
    scope="openid profile",
    templates="rp_examples.tv",
    template="tv_home.html",
    default_port=8007,
    actions=(
        Action.for_anyone("watch", text("番組を見る", "Watch programmes")),
        Action("health_record", text("健診結果を見る", "See checkup results"),
               check=identity_proven,
               why=text("健診結果は、マイナンバーカードで本人確認された方にだけ表示します。",
                        "Checkup results are shown only to a person whose identity was proven "
                        "with the My Number Card."),
               remedy=text("カードで本人確認したIDでログインし直してください。",
                           "Log in again with an ID proven by the card."),
               ask=Ask(acr_values=IDENTITY_PROVEN)),
    ),
    messages={
        "screen_title": text("テレビでログイン", "Log in on the TV"),
        "screen_step1": text("スマートフォンでQRコードを読み取るか、次のページを開いてください",
                             "Scan the QR code with your phone, or open"),
        "screen_step2": text("画面のコードを入力してください", "and enter the code"),
        "screen_step3": text("スマートフォンでパスキーまたはマイナンバーカードでログインし、"
                             "このテレビを承認してください。",
                             "Log in on the phone with a passkey or your My Number Card, "
                             "and approve this TV."),
        "expires_in": text("コードの有効期限まで", "The code expires in"),
        "seconds": text("秒", "seconds"),
        "waiting": text("スマートフォンでの承認を待っています…", "Waiting for the approval on your "
                        "phone…"),
        "denied": text("ログインは承認されませんでした。", "The login was not approved."),
        "expired": text("コードの有効期限が切れました。", "The code has expired."),
        "failed": text("ログインできませんでした。", "The login did not succeed."),
        "again": text("もう一度", "Try again"),
        "cancel": text("やめる", "Cancel"),
        "welcome": text("ようこそ", "Welcome"),
        "age_band": text("年代", "Age band"),
        "unknown": text("不明", "Unknown"),
        "health": text("健康情報", "Your health"),
        "checkups": text("健診結果", "Checkup results"),
        "year": text("年度", "Year"),
        "height": text("身長 (cm)", "Height (cm)"),
        "weight": text("体重 (kg)", "Weight (kg)"),
        "bmi": text("BMI", "BMI"),
        "blood_pressure": text("血圧 (mmHg)", "Blood pressure (mmHg)"),
        "hba1c": text("HbA1c (%)", "HbA1c (%)"),
        "need_card": text("健診結果を見るには、カードで本人確認されたIDでログインしてください。",
                          "To see checkup results, log in with an ID proven by the card."),
        "start": text("テレビでログイン", "Log in on this TV"),
    },
    view=_view,
    setup=_setup,
)
