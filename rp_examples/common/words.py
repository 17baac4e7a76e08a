"""The words every sample RP shares (Japanese first, English), and what acr/amr values mean.

An RP understands the IdP's assurance values from its documentation (docs/assurance.md), as
any relying party would: the meanings are written here, not imported from the IdP.
"""

from __future__ import annotations

from rp_examples.common.profile import Text, text

MESSAGES: dict[str, Text] = {
    "login": text("ログイン", "Log in"),
    "logout": text("ログアウト", "Log out"),
    "logout_ask": text("ログアウトしますか？", "Log out?"),
    "logged_in_as": text("ログイン中", "Logged in"),
    "not_logged_in": text("ログインしていません", "Not logged in"),
    "login_with_idp": text("マイナンバーカードのIDでログイン", "Log in with your My Number ID"),
    "your_login": text("今回のログイン", "This login"),
    "subject": text("利用者ID (sub)", "User ID (sub)"),
    "level": text("保証レベル (acr)", "Assurance level (acr)"),
    "methods": text("認証方法 (amr)", "Methods (amr)"),
    "claims": text("受け取った属性", "Claims received"),
    "no_claims": text("属性は受け取っていません。", "No claims received."),
    "actions": text("できること", "What you can do here"),
    "allowed": text("できます", "Allowed"),
    "refused": text("できません", "Not allowed"),
    "try": text("この操作のためにログイン", "Log in for this"),
    "demo_note": text("これはテスト用のサンプル事業者です。実在の会社ではありません。",
                      "A sample business for testing; not a real company."),
    "error_title": text("ログインできませんでした", "The login did not succeed"),
    "back": text("トップへ戻る", "Back to the start"),
    "language": text("English", "日本語"),
}

ACR_WORDS: dict[str, Text] = {
    "urn:jpki-idp:acr:ial1-aal2": text(
        "二要素で認証。本人確認（身元確認）はされていません。",
        "Two factors; the identity is not proven."),
    "urn:jpki-idp:acr:ial2-aal2": text(
        "二要素で認証し、有効な署名用電子証明書で本人確認済み。",
        "Two factors; identity proven by a valid JPKI signing certificate."),
    "urn:jpki-idp:acr:ial2-aal2-now": text(
        "二要素で認証し、このログインの際にOCSPで失効していないことを確認済み。",
        "Two factors; the certificate's status was confirmed by OCSP during this login."),
    "phr": text("フィッシングに強い認証（パスキー）。本人確認は含みません。",
                "Phishing-resistant authentication (a passkey); identity not implied."),
    "urn:jpki-idp:acr:ial1-aal2-card": text(
        "カードとPINで認証。本人確認はされていません。",
        "Card and PIN; the identity is not proven."),
    "urn:jpki-idp:acr:ial1-aal2-phr": text(
        "パスキー（生体認証など）で認証。本人確認はされていません。",
        "A passkey with user verification; the identity is not proven."),
    "urn:jpki-idp:acr:ial2-aal2-card": text(
        "カードとPINで認証し、有効な署名用電子証明書で本人確認済み。",
        "Card and PIN; identity proven by a valid JPKI signing certificate."),
    "urn:jpki-idp:acr:ial2-aal2-phr": text(
        "パスキーで認証。本人確認はマイナンバーカードで済んでいます。",
        "A passkey; the identity was proven with the My Number Card."),
    "urn:jpki-idp:acr:ial2-aal2-card-now": text(
        "カードとPINで認証し、このログインの際に証明書の有効性をOCSPで確認済み。",
        "Card and PIN; the certificate's status was confirmed by OCSP during this login."),
    "urn:jpki-idp:acr:ial2-aal2-phr-now": text(
        "パスキーで認証し、このログインの際に証明書の有効性をOCSPで確認済み。",
        "A passkey; the certificate's status was confirmed by OCSP during this login."),
}

# RFC 8176 values and the ones this IdP adds.
AMR_WORDS: dict[str, Text] = {
    "hwk": text("取り出せない鍵（カードのICチップや端末のセキュリティチップ）",
                "A key held in hardware (the card's chip, or the device's secure element)"),
    "swk": text("同期される鍵（クラウドに保存されたパスキー）",
                "A software key (a passkey synced through the cloud)"),
    "pin": text("暗証番号（PIN）", "A PIN"),
    "pwd": text("パスワード", "A password"),
    "mfa": text("複数の要素による認証", "Multiple factors"),
    "user": text("本人の確認（指紋・顔・画面ロック）", "User presence and verification"),
    "fpt": text("指紋", "A fingerprint"),
    "face": text("顔認証", "Face recognition"),
    "sc": text("スマートカード", "A smart card"),
    "passkey": text("パスキー", "A passkey"),
    "pop": text("鍵の所持の証明", "Proof of possession of a key"),
}


def acr_words(acr: str | None, lang: str) -> str:
    if not acr:
        return {"ja": "（なし）", "en": "(none)"}[lang]
    words = ACR_WORDS.get(acr)
    return words[lang] if words else {"ja": "このRPの知らない値です。",
                                      "en": "A value this RP does not know."}[lang]


def amr_words(amr: str, lang: str) -> str:
    words = AMR_WORDS.get(amr)
    return words[lang] if words else {"ja": "このRPの知らない方法です。",
                                      "en": "A method this RP does not know."}[lang]
