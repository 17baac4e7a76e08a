"""テストショップ (Test Shop): a passkey is enough to shop; identity proof only for paying later.

Its page shows the acr and amr the login brought and what each means, in words.
"""

from __future__ import annotations

from typing import Any

from rp_examples.common import Action, Ask, Login, Profile, Theme, text

IDENTITY_PROVEN = "urn:jpki-idp:acr:ial2-aal2"


def _identity_proven(login: Login) -> bool:
    """ial2-* values: the IdP proved the identity with a current JPKI signing certificate."""
    return (login.acr or "").startswith("urn:jpki-idp:acr:ial2-")


PRODUCTS = (("tea", text("緑茶 100g", "Green tea 100 g"), 980),
            ("towel", text("今治タオル", "Imabari towel"), 1650),
            ("fan", text("扇子", "Folding fan"), 2400))


def _setup(app: Any) -> None:
    from rp_examples.shop.routes import add_routes

    add_routes(app)


PROFILE = Profile(
    name="shop",
    title=text("テストショップ", "Test Shop"),
    tagline=text("日用品のお店。ログインはパスキーだけで十分です。",
                 "Everyday goods. A passkey is all you need to log in."),
    theme=Theme(accent="#d9480f", background="#fff8f0", logo="SHOP", radius="14px"),
    scope="openid",
    templates="rp_examples.shop",
    template="shop.html",
    default_port=8003,
    setup=_setup,
    view=lambda login, lang: {"products": PRODUCTS},
    actions=(
        Action.for_anyone("buy", text("商品を購入する", "Buy")),
        Action("pay_later", text("後払いで購入する", "Pay later"), check=_identity_proven,
               why=text("後払いには本人確認済みのログインが必要です（このログインは本人確認を含みません）。",
                        "Paying later needs a login with proven identity (this one has none)."),
               remedy=text("マイナンバーカードで本人確認をしてから、もう一度ログインしてください。",
                           "Prove your identity with your My Number Card, then log in again."),
               ask=Ask(acr_values=IDENTITY_PROVEN)),
    ),
    messages={
        "products": text("おすすめ商品", "Today's picks"),
        "buy_now": text("購入", "Buy"),
        "login_to_buy": text("購入にはログインが必要です", "Log in to buy"),
        "ordered": text("ご注文ありがとうございました", "Thank you for your order"),
        "passkey_note": text("パスキー（指紋・顔・画面ロック）でログインすれば、"
                             "そのままお買い物できます。",
                             "A passkey login (fingerprint, face or screen lock) is all it takes."),
    },
)
