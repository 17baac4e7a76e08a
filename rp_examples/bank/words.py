"""The bank's own words for its pages (Japanese first, English)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from rp_examples.common.profile import Text, text

JST = timezone(timedelta(hours=9), "JST")

MESSAGES: dict[str, Text] = {
    "your_account": text("お客様の口座", "Your account"),
    "no_account": text("まだ口座をお持ちではありません。", "You do not have an account yet."),
    "account_number": text("口座番号", "Account number"),
    "holder": text("名義", "Holder"),
    "address": text("ご住所（確認済み）", "Address (verified)"),
    "birthdate": text("生年月日", "Date of birth"),
    "verified_at": text("本人確認の日時", "Identity verified at"),
    "evidence": text("本人確認の根拠", "Evidence"),
    "evidence_value": text("マイナンバーカードの署名用電子証明書", "My Number Card signing "
                           "certificate"),
    "serial": text("シリアル番号", "serial"),
    "open_account": text("口座開設", "Open an account"),
    "open_intro": text(
        "口座開設には、犯罪収益移転防止法にもとづく本人確認が必要です。マイナンバーカードの"
        "署名用電子証明書で確認された氏名・生年月日・住所（verified_claims）を、このログインの"
        "際に証明書が失効していないことをJ-LISに確認したうえで受け取ります。",
        "Opening an account needs identity verification under the Act on Prevention of "
        "Transfer of Criminal Proceeds: the bank receives your name, date of birth and address "
        "as verified with your My Number Card's signing certificate (verified_claims), "
        "confirmed with J-LIS as not revoked during this login."),
    "open_button": text("マイナンバーカードで本人確認して口座を開設", "Verify with your My "
                        "Number Card and open an account"),
    "reverify_button": text("マイナンバーカードで本人確認をやり直す", "Verify again with your My "
                            "Number Card"),
    "idp_account": text("IdPのアカウントページへ（再発行）", "To the identity provider's "
                        "account page (re-issue)"),
    "opened": text("口座を開設しました", "Your account is open"),
    "reverified": text("本人確認情報を更新しました", "Your identity record was updated"),
    "not_opened": text("口座を開設できませんでした", "The account could not be opened"),
    "what_to_do": text("どうすればよいか", "What to do"),
    "transfer": text("振込", "Transfer"),
    "payee": text("振込先", "Payee"),
    "amount": text("金額（円）", "Amount (yen)"),
    "from_account": text("振込元", "From"),
    "send": text("振込を依頼", "Request the transfer"),
    "limit_note": text("{limit}円を超える振込は、マイナンバーカードの署名用電子証明書による"
                       "署名で承認していただきます（署名用パスワードを使います）。",
                       "A transfer above ¥{limit} is approved with a signature by your My "
                       "Number Card's signing certificate (with its signing password)."),
    "transfer_executed": text("振込を実行しました", "The transfer was made"),
    "transfer_pending": text("振込は未承認です", "The transfer is not approved yet"),
    "transfer_refused": text("振込は実行されませんでした", "The transfer was not made"),
    "needs_signature": text("この振込は、マイナンバーカードでの署名が必要です。署名がないかぎり"
                            "実行されません。",
                            "This transfer needs your My Number Card's signature; without it, "
                            "it is not made."),
    "sign_button": text("マイナンバーカードで署名して承認", "Approve by signing with your My "
                        "Number Card"),
    "signature_verified": text("カードの署名を当行で検証しました", "The bank verified the card "
                               "signature"),
    "signer": text("署名者（証明書の氏名）", "Signer (name in the certificate)"),
    "certificate": text("署名用電子証明書", "Signing certificate"),
    "signed_at": text("署名日時", "Signed at"),
    "revocation": text("署名時の失効確認", "Revocation status when signed"),
    "good": text("有効（失効していません）", "Good (not revoked)"),
    "issuer_checked": text("J-LISの署名用認証局が発行した証明書であることを確認しました。",
                           "Checked: issued by a J-LIS signing CA."),
    "issuer_not_checked": text("証明書の発行元（J-LISの認証局）は、この設定では確認していません"
                               "（RP_BANK_JPKI_CA_DIR）。",
                               "The certificate's issuer (a J-LIS CA) was not checked in this "
                               "configuration (RP_BANK_JPKI_CA_DIR)."),
    "signed_text": text("署名された振込内容", "The signed transfer text"),
    "declined": text("カードでの署名が行われなかったため、振込は実行されていません。",
                     "The card did not sign, so the transfer was not made."),
    "declined_identity": text(
        "本人確認が現在有効ではないため、振込は実行されていません。転居などで署名用電子証明書が"
        "失効した可能性があります。IdPで民間IDを再発行してから、もう一度お試しください。",
        "Your identity is not currently proven, so the transfer was not made: a move may have "
        "revoked your signing certificate. Re-issue your private ID at the identity provider, "
        "then try again."),
    "idp_said": text("IdPからの応答", "The identity provider said"),
    "retry": text("もう一度署名する", "Sign again"),
    "history": text("最近の振込", "Recent transfers"),
    "status_pending": text("未承認", "not approved"),
    "status_executed": text("実行済み", "made"),
    "status_refused": text("不成立", "not made"),
    "back_office": text("事務センター（お客様の変更通知）", "Back office (change notices)"),
    "back_office_note": text(
        "IdPからShared Signals（CAEP / RISC）で届いた、お客様に関する変更の通知です。"
        "デモのため、行員のログインは省略しています。",
        "Change events about customers, pushed by the identity provider over Shared Signals "
        "(CAEP / RISC). A demo: the staff login is left out."),
    "stream": text("イベント配信", "Event stream"),
    "stream_connected": text("接続済み", "connected"),
    "stream_waiting": text("未接続", "not connected"),
    "received_at": text("受信日時", "Received"),
    "customer": text("お客様", "Customer"),
    "notice": text("内容", "Notice"),
    "no_events": text("まだ通知はありません。", "No notices yet."),
    "unknown_customer": text("口座のないお客様", "not an account holder"),
    "csrf": text("ページの有効期限が切れました。もう一度お試しください。",
                 "This page expired. Please try again."),
}


def when(value: str | None, lang: str) -> str:
    """An ISO 8601 moment (UTC or with an offset) as a person reads it, in Japan time."""
    moment = _parse(value)
    if moment is None:
        return value or ""
    local = moment.astimezone(JST)
    if lang == "ja":
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}（日本時間）"
    return f"{local.day} {local:%b %Y, %H:%M} (Japan time)"


def day(value: str | None, lang: str) -> str:
    """A YYYY-MM-DD date in words."""
    try:
        parsed = date.fromisoformat(value or "")
    except ValueError:
        return value or ""
    return f"{parsed.year}年{parsed.month}月{parsed.day}日" if lang == "ja" else \
        f"{parsed.day} {parsed:%B %Y}"


def _parse(value: str | None) -> datetime | None:
    try:
        moment = datetime.fromisoformat((value or "").replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
