"""The bank verifies every pushed SET with the IdP's published keys before it believes it, and
tells the back office in words what each change event means."""

from __future__ import annotations

from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from rp_examples.bank.events import (
    CAEP,
    RISC,
    ReceivedEvent,
    SetRefused,
    describe,
    verify_set,
)

ISSUER, BANK = "http://localhost:8000", "rp_bank"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
OTHER = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
JWKS = KeySet([KEY]).as_dict(private=False)


def _set(event: str = CAEP + "token-claims-change", body: dict[str, Any] | None = None, *,
         key: RSAKey = KEY, typ: str = "secevent+jwt", **changes: Any) -> str:
    claims: dict[str, Any] = {
        "iss": ISSUER, "aud": BANK, "jti": "j1", "iat": 1764700000, "txn": "t1",
        "sub_id": {"format": "iss_sub", "iss": ISSUER, "sub": "s1"},
        "events": {event: body if body is not None else {
            "claims": {"address": {"formatted": "大阪府大阪市北区1-1", "country": "JP"}}}}}
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": "RS256", "typ": typ, "kid": "k1"}, claims, key)


def _err(token: str) -> str:
    with pytest.raises(SetRefused) as refused:
        verify_set(token, JWKS, issuer=ISSUER, audience=BANK)
    return refused.value.err


def test_a_set_signed_by_the_idp_is_read_with_its_subject_and_event() -> None:
    event = verify_set(_set(), JWKS, issuer=ISSUER, audience=BANK)
    assert (event.jti, event.subject, event.short_type, event.txn) == (
        "j1", "s1", "token-claims-change", "t1")
    ja, en = describe(event)
    assert ja == "住所が変更されました（新しい住所: 大阪府大阪市北区1-1）— 確認してください"
    assert "address changed" in en


def test_a_set_signed_by_another_key_is_refused() -> None:
    assert _err(_set(key=OTHER)) == "invalid_key"


def test_a_set_from_another_issuer_or_for_another_audience_is_refused() -> None:
    assert _err(_set(iss="https://evil.example")) == "invalid_issuer"
    assert _err(_set(aud="rp_shop")) == "invalid_audience"


@pytest.mark.parametrize("changes", [
    {"typ": "JWT"}, {"sub": "s1"}, {"exp": 1764800000}, {"jti": None},
    {"events": {CAEP + "session-revoked": {}, RISC + "account-disabled": {}}},
    {"sub_id": {"format": "email", "email": "a@example.jp"}},
    {"sub_id": {"format": "iss_sub", "iss": "https://evil.example", "sub": "s1"}},
])
def test_a_set_not_shaped_as_ssf_asks_is_refused(changes: dict[str, Any]) -> None:
    typ = changes.pop("typ", "secevent+jwt")
    assert _err(_set(typ=typ, **changes)) == "invalid_request"


def test_a_garbled_token_is_refused_not_crashed() -> None:
    assert _err("not.a.jwt") == "invalid_key"


def _line(event_type: str, body: dict[str, Any]) -> tuple[str, str]:
    return describe(ReceivedEvent("j", event_type, body, "s1", 0))


def test_each_event_the_idp_sends_has_its_line_in_both_languages() -> None:
    lines = [
        _line(CAEP + "credential-change", {"change_type": "revoke", "x509_serial": "1f"}),
        _line(CAEP + "credential-change", {"change_type": "create", "x509_serial": "2a"}),
        _line(CAEP + "assurance-level-change", {"change_direction": "decrease",
                                                "current_level": "nist-ial1"}),
        _line(CAEP + "assurance-level-change", {"change_direction": "increase",
                                                "current_level": "nist-ial2"}),
        _line(CAEP + "token-claims-change", {"claims": {"name": "佐藤　花子"}}),
        _line(CAEP + "session-revoked", {}),
        _line(RISC + "account-disabled", {}),
        _line(RISC + "account-enabled", {}),
        _line(RISC + "account-purged", {}),
    ]
    assert len({ja for ja, _ in lines}) == len(lines)
    assert all("不明" not in ja and "Unknown" not in en for ja, en in lines)
    assert "失効" in lines[0][0]
    assert lines[4][0].startswith("氏名が変更されました")
    assert "停止" in lines[6][0]
