"""Change events the bank receives about its customers (Shared Signals: CAEP and RISC SETs).

The IdP pushes each Security Event Token (RFC 8417) to the bank's endpoint (RFC 8935). The bank
verifies it as docs/events.md asks — the signature with the keys at the IdP's ``jwks_uri``
(RS256), ``typ: secevent+jwt``, ``iss`` the issuer, ``aud`` its own ``client_id``, one event, no
``sub`` nor ``exp``, the subject ``iss_sub`` of that issuer — and then says in words what the
back office should do about it (住所が変更されました — 確認してください).

:func:`verify_set` raises :class:`SetRefused` with the RFC 8935 §2.3 error code the push answers
with, or returns a :class:`ReceivedEvent`; :func:`describe` gives its line in ja and en.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization

CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
RISC = "https://schemas.openid.net/secevent/risc/event-type/"
SSF = "https://schemas.openid.net/secevent/ssf/event-type/"
SET_TYPE = "secevent+jwt"
ALGORITHMS = ["RS256"]  # what the IdP signs SETs with (docs/events.md)


class SetRefused(Exception):  # noqa: N818  (an answer to the transmitter, not a bug)
    """A pushed SET the bank does not accept; ``err`` is RFC 8935 §2.3's code."""

    def __init__(self, err: str, description: str) -> None:
        super().__init__(f"{err}: {description}")
        self.err = err
        self.description = description


@dataclass(frozen=True)
class ReceivedEvent:
    jti: str
    event_type: str
    body: Mapping[str, Any] = field(hash=False)
    subject: str | None  # the sub the bank knows; None for events about the stream
    iat: int
    txn: str | None = None

    @property
    def short_type(self) -> str:
        """``credential-change``, ``account-disabled``...: the last part of the type URI."""
        return self.event_type.rsplit("/", 1)[-1]


def verify_set(token: str, jwks: Mapping[str, Any], *, issuer: str,
               audience: str) -> ReceivedEvent:
    """Check one SET as a receiver must (RFC 8417 §2, SSF §4, RFC 8935 §2)."""
    try:
        keys = KeySet.import_key_set(cast("KeySetSerialization", dict(jwks)))
        decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
    except (JoseError, ValueError) as error:
        raise SetRefused("invalid_key", f"the SET's signature does not verify: {error}") \
            from error
    if decoded.header.get("typ") != SET_TYPE:
        raise SetRefused("invalid_request", f"typ must be {SET_TYPE}")
    claims = dict(decoded.claims)
    if claims.get("iss") != issuer:
        raise SetRefused("invalid_issuer", "the SET is not from the bank's identity provider")
    audience_claim = claims.get("aud")
    if audience_claim != audience and not (isinstance(audience_claim, list)
                                           and audience in audience_claim):
        raise SetRefused("invalid_audience", "the SET is not addressed to this bank")
    return _event(claims, issuer)


def _event(claims: Mapping[str, Any], issuer: str) -> ReceivedEvent:
    events, jti, iat = claims.get("events"), claims.get("jti"), claims.get("iat")
    if "sub" in claims or "exp" in claims:
        raise SetRefused("invalid_request", "a SET carries neither sub nor exp (RFC 8417)")
    if not isinstance(events, Mapping) or len(events) != 1:
        raise SetRefused("invalid_request", "a SET carries exactly one event (SSF §4.1)")
    if not isinstance(jti, str) or not jti or not isinstance(iat, int):
        raise SetRefused("invalid_request", "jti and iat are required")
    [(event_type, body)] = events.items()
    if not isinstance(body, Mapping):
        raise SetRefused("invalid_request", "the event's body must be an object")
    return ReceivedEvent(jti, str(event_type), dict(body), _subject(claims.get("sub_id"), issuer),
                         iat, claims.get("txn") if isinstance(claims.get("txn"), str) else None)


def _subject(sub_id: Any, issuer: str) -> str | None:
    if not isinstance(sub_id, Mapping):
        raise SetRefused("invalid_request", "sub_id is required (SSF §4.1)")
    if sub_id.get("format") == "opaque":
        return None  # the stream itself (verification, stream-updated)
    if sub_id.get("format") != "iss_sub" or sub_id.get("iss") != issuer or \
            not isinstance(sub_id.get("sub"), str):
        raise SetRefused("invalid_request", "the subject must be iss_sub of this issuer")
    return str(sub_id["sub"])


# -- what the back office reads ------------------------------------------------------------
CLAIM_WORDS = {"address": ("住所", "address"), "name": ("氏名", "name"),
               "family_name": ("氏", "family name"), "given_name": ("名", "given name"),
               "birthdate": ("生年月日", "date of birth"), "gender": ("性別", "sex")}


def describe(event: ReceivedEvent) -> tuple[str, str]:
    """(ja, en): what happened and what the back office should do."""
    body, kind = event.body, event.short_type
    if kind == "token-claims-change":
        return _claims_changed(body.get("claims"))
    if kind == "credential-change":
        return _credential(body)
    if kind == "assurance-level-change":
        if body.get("change_direction") == "increase":
            return ("本人確認の保証レベルが回復しました（{}）".format(body.get("current_level")),
                    "The identity assurance level is back ({})".format(
                        body.get("current_level")))
        return ("本人確認の保証レベルが下がりました（{}）— 高額の取引と口座開設は、お客様が"
                "再発行するまで保留してください".format(body.get("current_level")),
                "The identity assurance level fell ({}) — hold large transfers and account "
                "changes until the customer re-issues".format(body.get("current_level")))
    return FIXED.get(kind, (f"不明なイベント: {event.event_type}",
                            f"Unknown event: {event.event_type}"))


FIXED = {
    "session-revoked": ("IdPでログインが終了されました — 当行のログインも終了しました",
                        "The identity provider ended the customer's sessions — the bank's "
                        "session was ended too"),
    "account-disabled": ("IdPのアカウントが停止されました（カードの紛失・国外転出・死亡など）— "
                         "取引を停止し、お客様の状況を確認してください",
                         "The customer's identity account was disabled (card lost, moved "
                         "abroad, death...) — stop transactions and check the customer's "
                         "situation"),
    "account-enabled": ("IdPのアカウントが再開されました — 取引の停止を解除できます",
                        "The customer's identity account was enabled again — transactions "
                        "may resume"),
    "account-purged": ("IdPのアカウントが削除されました — 口座の取扱いを確認してください",
                       "The customer's identity account was deleted — review the account"),
    "verification": ("イベント受信の確認（IdPとの接続は正常です）",
                     "Stream verification (the link with the identity provider works)"),
    "stream-updated": ("IdPがイベント配信の状態を変更しました",
                       "The identity provider changed the stream's status"),
}


def _claims_changed(claims: Any) -> tuple[str, str]:
    names = [name for name in (claims or {}) if name in CLAIM_WORDS] if isinstance(
        claims, Mapping) else []
    if not names:
        return ("お客様の情報が変更されました — 確認してください",
                "The customer's details changed — please check")
    ja = "・".join(CLAIM_WORDS[name][0] for name in names)
    en = ", ".join(CLAIM_WORDS[name][1] for name in names)
    value = claims.get("address") if "address" in names else None
    new = value.get("formatted") if isinstance(value, Mapping) else None
    suffix_ja, suffix_en = ((f"（新しい住所: {new}）", f" (new address: {new})") if new
                            else (" ", ""))
    return (f"{ja}が変更されました{suffix_ja}— 確認してください",
            f"The customer's {en} changed{suffix_en} — please check")


def _credential(body: Mapping[str, Any]) -> tuple[str, str]:
    serial = body.get("x509_serial", "?")
    if body.get("change_type") == "revoke":
        return (f"署名用電子証明書（シリアル {serial}）が失効しました（転居・氏名変更など）— "
                "お客様に届出内容の確認を依頼してください",
                f"The signing certificate (serial {serial}) was revoked (a move, a new "
                "name...) — ask the customer to confirm their details")
    return (f"新しい署名用電子証明書（シリアル {serial}）で本人確認がやり直されました",
            f"The customer re-verified with a new signing certificate (serial {serial})")
