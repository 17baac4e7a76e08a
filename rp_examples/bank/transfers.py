"""Transfers: the limit above which the card must sign, and the text it signs.

Only the document's ``text`` is signed (its SHA-256 is the last line of what the card signs,
docs/api.md), so everything that matters is in it, in a fixed form: the account debited, the
payee, the amount, when it was asked and a transaction number that makes it unique — the
signature then authorises this one transfer and no other (PSD2's dynamic linking).
"""

from __future__ import annotations

import secrets
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

from rp_examples.bank.signature import VerifiedSignature
from rp_examples.bank.store import Customer, Transfer

DEFAULT_LIMIT = 100_000  # yen: above it, the card signs the transfer
MAX_AMOUNT = 100_000_000_000  # yen: anything above is a typing error, not a transfer
DEFAULT_PAYEE = "青空銀行 本店 普通 1234567 ヤマダ ハナコ"
TITLE = "振込の承認 / Transfer approval"
JST = timezone(timedelta(hours=9), "JST")


class TransferInputError(ValueError):
    """The amount or payee cannot make a transfer (the page says which)."""


def parse_amount(raw: str | None) -> int:
    """Whole yen, 1 to MAX_AMOUNT; commas and a trailing 円 are allowed."""
    text = unicodedata.normalize("NFKC", raw or "").replace(",", "").removesuffix("円").strip()
    if not text.isdigit() or not 0 < int(text) <= MAX_AMOUNT:
        raise TransferInputError(f"the amount must be a whole number of yen from 1 to "
                                 f"{MAX_AMOUNT:,}")
    return int(text)


def check_payee(raw: str | None) -> str:
    payee = " ".join((raw or "").split())
    if not payee or len(payee) > 100:
        raise TransferInputError("the payee must be 1 to 100 characters")
    return payee


def needs_signature(amount: int, limit: int) -> bool:
    return amount > limit


def new_transfer(customer: Customer, amount: int, payee: str,
                 now: datetime | None = None) -> Transfer:
    """A pending transfer with the text the card will sign."""
    moment = (now or datetime.now(UTC)).astimezone(JST)
    transfer_id = f"TX-{moment:%Y%m%d}-{secrets.token_hex(4).upper()}"
    text = "\n".join([
        TITLE,
        f"振込元口座: 本店 普通 {customer.account_number} {customer.name}",
        f"振込先: {payee}",
        f"金額: {amount:,}円",
        f"依頼日時: {moment.isoformat(timespec='seconds')}",
        f"取引番号: {transfer_id}",
    ])
    return Transfer(id=transfer_id, sub=customer.sub, amount=amount, payee=payee, text=text,
                    status="pending", created_at=moment.astimezone(UTC).isoformat(),
                    signature=None, executed_at=None)


def same_person(customer: Customer, signature: VerifiedSignature) -> bool:
    """The certificate's 4-info name is the account holder's verified name (spaces, including
    the ideographic space between family and given name, do not count)."""
    def plain(name: str) -> str:
        return "".join(unicodedata.normalize("NFKC", name).split())
    return bool(signature.signer_name) and plain(signature.signer_name) == plain(customer.name)
