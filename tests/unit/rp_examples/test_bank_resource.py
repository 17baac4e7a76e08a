"""The transfer API inside the bank: only the IdP's access tokens issued to the bank are
taken; a large transfer needs a current identity and a fresh login (else RFC 9470's challenge)
and the account holder's own card signature; a small one only a valid token."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from rp_examples.bank.opening import Opening
from rp_examples.bank.resource import TokenRefused, decide_transfer, verify_access_token
from rp_examples.bank.signature import VerifiedSignature
from rp_examples.bank.step_up import parse_challenge
from rp_examples.bank.store import Customer, Store
from rp_examples.bank.transfers import TransferInputError, new_transfer, parse_amount

ISSUER, BANK, NOW = "http://localhost:8000", "rp_bank", 1_780_000_000
KEY = ECKey.generate_key("P-256", parameters={"kid": "e1"}, private=True)
JWKS = KeySet([KEY]).as_dict(private=False)
LIMIT = 100_000


def _token(**changes: Any) -> str:
    claims = {"iss": ISSUER, "aud": ISSUER, "sub": "s1", "client_id": BANK, "iat": NOW,
              "exp": NOW + 600, "jti": "a1", "auth_time": NOW - 10,
              "acr": "urn:jpki-idp:acr:ial2-aal2-phr-now", "amr": ["hwk", "user", "mfa"]}
    claims.update(changes)
    typ = claims.pop("typ", "at+jwt")
    return jwt.encode({"alg": "ES256", "typ": typ, "kid": "e1"}, claims, KEY)


def test_a_token_of_the_idp_for_the_bank_is_read() -> None:
    claims = verify_access_token(_token(), JWKS, issuer=ISSUER, client_id=BANK, now=NOW)
    assert claims["acr"] == "urn:jpki-idp:acr:ial2-aal2-phr-now"


@pytest.mark.parametrize("changes", [
    {"client_id": "rp_shop"}, {"iss": "https://evil.example"}, {"aud": "rp_bank"},
    {"exp": NOW - 100}, {"typ": "JWT"}])
def test_other_tokens_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(TokenRefused):
        verify_access_token(_token(**changes), JWKS, issuer=ISSUER, client_id=BANK, now=NOW)


@pytest.fixture
def bank(tmp_path: Any) -> tuple[Store, Customer]:
    store = Store(tmp_path / "bank.sqlite3")
    customer = store.open_account("s1", Opening(
        "山田　太郎", "1980-02-17", "東京都千代田区永田町1-7-1", "2026-05-28T20:25:00Z",
        "OU=JPKI", "1f", "urn:jpki-idp:acr:ial2-aal2-now"))
    return store, customer


def _claims(**changes: Any) -> dict[str, Any]:
    return {"sub": "s1", "acr": "urn:jpki-idp:acr:ial2-aal2-phr-now", "auth_time": NOW - 10,
            **changes}


def _signature(name: str = "山田　太郎") -> VerifiedSignature:
    return VerifiedSignature("t", name, "東京都", "abc", "OU=JPKI", "req-1",
                             "2026-05-28T20:26:00+00:00", "good")


def test_a_small_transfer_needs_only_a_valid_token(bank: tuple[Store, Customer]) -> None:
    _store, customer = bank
    transfer = new_transfer(customer, 30_000, "青空銀行")
    answer = decide_transfer(_claims(acr="urn:jpki-idp:acr:ial1-aal2", auth_time=NOW - 86400),
                             customer, transfer, limit=LIMIT, now=NOW)
    assert answer.status == 200


def test_a_large_transfer_on_an_old_login_gets_the_step_up_challenge(
        bank: tuple[Store, Customer]) -> None:
    _, customer = bank
    transfer = new_transfer(customer, 2_500_000, "青空銀行")
    answer = decide_transfer(_claims(auth_time=NOW - 3600), customer, transfer, limit=LIMIT,
                             now=NOW)
    assert answer.status == 401
    assert answer.www_authenticate is not None
    read = parse_challenge(answer.www_authenticate)
    assert read is not None
    assert read.max_age == 300
    assert read.acr_values == ()  # the level is met: only the login's age is not


def test_a_large_transfer_for_an_identity_not_current_asks_for_the_level(
        bank: tuple[Store, Customer]) -> None:
    _, customer = bank
    transfer = new_transfer(customer, 2_500_000, "青空銀行")
    answer = decide_transfer(_claims(acr="urn:jpki-idp:acr:ial1-aal2-phr"), customer, transfer,
                             limit=LIMIT, now=NOW)
    read = parse_challenge(answer.www_authenticate or "")
    assert read is not None
    assert read.acr_values == ("urn:jpki-idp:acr:ial2-aal2",)


def test_a_large_transfer_without_the_card_signature_is_not_executed(
        bank: tuple[Store, Customer]) -> None:
    store, customer = bank
    transfer = new_transfer(customer, 2_500_000, "青空銀行")
    store.add_transfer(transfer)
    answer = decide_transfer(_claims(), customer, store.transfer(transfer.id), limit=LIMIT,
                             now=NOW)
    assert (answer.status, answer.body["error"]) == (403, "signature_required")
    store.attach_signature(transfer.id, _signature("佐藤　花子"))
    answer = decide_transfer(_claims(), customer, store.transfer(transfer.id), limit=LIMIT,
                             now=NOW)
    assert (answer.status, answer.body["error"]) == (403, "signer_mismatch")
    store.attach_signature(transfer.id, _signature("山田 太郎"))
    answer = decide_transfer(_claims(), customer, store.transfer(transfer.id), limit=LIMIT,
                             now=NOW)
    assert answer.status == 200
    assert store.finish_transfer(transfer.id, "executed")
    assert not store.finish_transfer(transfer.id, "executed")  # once only
    answer = decide_transfer(_claims(), customer, store.transfer(transfer.id), limit=LIMIT,
                             now=NOW)
    assert answer.status == 409


def test_the_text_names_the_accounts_amount_and_a_unique_number(
        bank: tuple[Store, Customer]) -> None:
    _, customer = bank
    first = new_transfer(customer, 2_500_000, "青空銀行 本店 普通 1234567 ヤマダ ハナコ")
    second = new_transfer(customer, 2_500_000, "青空銀行 本店 普通 1234567 ヤマダ ハナコ")
    assert "金額: 2,500,000円" in first.text
    assert customer.account_number in first.text
    assert "青空銀行 本店 普通 1234567" in first.text
    assert first.id in first.text
    assert first.text != second.text


def test_no_account_no_transfer(bank: tuple[Store, Customer]) -> None:
    _, customer = bank
    answer = decide_transfer(_claims(), None, new_transfer(customer, 1, "x"), limit=LIMIT,
                             now=int(time.time()))
    assert answer.status == 403


@pytest.mark.parametrize(("raw", "amount"), [("150000", 150_000), ("2,500,000円", 2_500_000),
                                             ("１２３", 123)])
def test_amounts_are_read_as_people_write_them(raw: str, amount: int) -> None:
    assert parse_amount(raw) == amount


@pytest.mark.parametrize("raw", ["", "0", "-5", "1e9", "abc", None, "9" * 20])
def test_impossible_amounts_are_refused(raw: str | None) -> None:
    with pytest.raises(TransferInputError):
        parse_amount(raw)


def test_the_banks_challenge_is_read_by_the_idps_own_rfc_9470_library_and_back() -> None:
    """The IdP's pure step-up library (docs/assurance.md) and the bank's agree on the header:
    the bank may not import it (the RPs talk to the IdP over HTTP only), so this checks the
    two speak the same RFC 9470."""
    from idp.assurance import step_up as idp_step_up
    from rp_examples.bank import step_up

    needed = step_up.Requirement(("urn:jpki-idp:acr:ial2-aal2",), 300)
    read = idp_step_up.parse_challenge(step_up.challenge(needed, "Sign in again"))
    assert read is not None
    assert (read.required.acr_values, read.required.max_age) == (needed.acr_values, 300)
    header = idp_step_up.challenge(idp_step_up.Requirement(needed.acr_values, 300), "x")
    assert step_up.parse_challenge(header) == needed
    assert step_up.parse_challenge('Bearer error="invalid_token"') is None
    assert step_up.authorization_params(needed) == idp_step_up.authorization_params(
        idp_step_up.Requirement(needed.acr_values, 300), essential=True)
