"""Card requests (contract.md, "The card request protocol"): create, show, claim once, record.

``to_be_signed`` is ``jpki-idp/1\\n{issuer}\\n{purpose}\\n{request_id}\\n{nonce}`` (plus the
SHA-256 hex of the consent text for purpose ``consent``, of the document's text for purpose
``sign``), so a signature made for one purpose,
request or IdP is worthless for another. A request is claimed by one conditional UPDATE (answered
once, even under concurrent answers) and is continued only by the browser whose binding cookie
hashes to ``browser_hash``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idp.accounts.errors import (
    CardRequestExpiredError,
    CardRequestNotFoundError,
    CardRequestUsedError,
)
from idp.accounts.jpki_models import CardRequestRow
from idp.accounts.terms import Agreement

PROTOCOL_TAG = "jpki-idp/1"
BROWSER_COOKIE = "idp_browser"  # the browser binding of interactions and card requests
LIFETIME = timedelta(minutes=5)
CERTIFICATE_FOR = {"onboard": "sign", "login": "auth", "reissue": "sign", "consent": "sign",
                   "sign": "sign"}


def browser_hash(cookie_value: str) -> str:
    return hashlib.sha256(cookie_value.encode()).hexdigest()


def create(db: Session, *, uid: str, browser: str, purpose: str, private_id: str | None = None,
           session_id: str | None = None, consent_text: str | None = None,
           terms: Agreement | None = None, document: dict[str, str] | None = None,
           now: datetime | None = None) -> CardRequestRow:
    """A new request; ``session_id`` is the login session asking (re-issue, refresh), ``terms``
    what the browser agreed to before an onboarding."""
    now = now or datetime.now(UTC)
    row = CardRequestRow(id=secrets.token_urlsafe(18), interaction_uid=uid,
                         browser_hash=browser_hash(browser), purpose=purpose,
                         certificate_purpose=CERTIFICATE_FOR[purpose],
                         nonce=secrets.token_urlsafe(24), consent_text=consent_text,
                         document=document,
                         private_id=private_id, session_id=session_id, created_at=now,
                         expires_at=now + LIFETIME,
                         continued=False, terms_version=terms.version if terms else None,
                         terms_agreed_at=terms.agreed_at if terms else None)
    db.add(row)
    db.flush()
    return row


def agreement(row: CardRequestRow) -> Agreement | None:
    """The terms agreement the request carries (onboarding), if any."""
    if row.terms_version is None or row.terms_agreed_at is None:
        return None
    return Agreement(row.terms_version, _aware(row.terms_agreed_at))


def to_be_signed(row: CardRequestRow, issuer: str) -> bytes:
    lines = [PROTOCOL_TAG, issuer, row.purpose, row.id, row.nonce]
    if row.consent_text is not None:
        lines.append(hashlib.sha256(row.consent_text.encode()).hexdigest())
    if row.document is not None:  # the RP checks this line against the text it sent
        lines.append(hashlib.sha256(row.document["text"].encode()).hexdigest())
    return "\n".join(lines).encode()


def describe(row: CardRequestRow, *, issuer: str, relying_party: str) -> dict[str, Any]:
    """The JSON a card app shows the person before the PIN is entered."""
    body = {"request_id": row.id, "issuer": issuer, "relying_party": {"name": relying_party},
            "purpose": row.purpose, "certificate": row.certificate_purpose,
            "to_be_signed": base64.urlsafe_b64encode(to_be_signed(row, issuer)).decode()
            .rstrip("="), "hash": "SHA-256", "expires_at": _aware(row.expires_at).isoformat()}
    if row.consent_text is not None:
        body["consent_text"] = row.consent_text
    if row.document is not None:
        body["document"] = {"title": row.document["title"], "text": row.document["text"]}
    return body


def load(db: Session, request_id: str) -> CardRequestRow:
    row = db.get(CardRequestRow, request_id)
    if row is None:
        raise CardRequestNotFoundError()
    return row


def claim(db: Session, request_id: str, now: datetime) -> CardRequestRow:
    """Mark the request answered, once; refuse a used, expired or unknown one."""
    claimed = db.execute(update(CardRequestRow).where(
        CardRequestRow.id == request_id, CardRequestRow.answered_at.is_(None),
        CardRequestRow.expires_at > now).values(answered_at=now))
    row = load(db, request_id)
    if claimed.rowcount == 1:  # type: ignore[attr-defined]
        return row
    if row.answered_at is not None:
        raise CardRequestUsedError()
    raise CardRequestExpiredError()


def record(db: Session, request_id: str, *, outcome: str, result: dict[str, Any] | None = None,
           error: tuple[str, str] | None = None) -> None:
    values: dict[str, Any] = {"outcome": outcome, "result": result}
    if error is not None:
        values.update(error_code=error[0], error_description=error[1])
    db.execute(update(CardRequestRow).where(CardRequestRow.id == request_id).values(**values))


def latest_for(db: Session, uid: str, browser: str) -> CardRequestRow | None:
    return db.scalars(select(CardRequestRow).where(
        CardRequestRow.interaction_uid == uid,
        CardRequestRow.browser_hash == browser_hash(browser))
        .order_by(CardRequestRow.created_at.desc())).first()


def mark_continued(db: Session, request_id: str) -> bool:
    """True once: the browser continues an accepted request a single time."""
    done = db.execute(update(CardRequestRow).where(
        CardRequestRow.id == request_id, CardRequestRow.outcome == "accepted",
        CardRequestRow.continued.is_(False)).values(continued=True))
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def _aware(value: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
