"""Account opening reads what the IdP delivers (verified_claims under jp_aml with the signing
certificate as evidence, verification.time, the acr) and refuses, in words, whatever falls
short: an identity not currently proven asks for the re-issue at the IdP."""

from __future__ import annotations

from typing import Any

import pytest

from rp_examples.bank.opening import (
    Opening,
    Refusal,
    authorization_params,
    decide,
    refusal_for_error,
)

NOW = 1_780_000_000  # 2026-05-28T20:26:40Z
TIME = "2026-05-28T20:25:00Z"


def _claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sub": "s1", "acr": "urn:jpki-idp:acr:ial2-aal2-now",
        "verified_claims": {
            "verification": {"trust_framework": "jp_aml", "time": TIME, "evidence": [{
                "type": "electronic_signature",
                "signature_type": "http://idp/identifiers/signature_type/jpki_sign",
                "issuer": "OU=JPKI for digital signature,O=JPKI,C=JP",
                "serial_number": "1f2e3d", "created_at": "2026-01-10T09:30:00Z"}]},
            "claims": {"name": "山田　太郎", "birthdate": "1980-02-17",
                       "address": {"formatted": "東京都千代田区永田町1-7-1", "country": "JP"}}}}
    claims.update(changes)
    return claims


def _reason(claims: dict[str, Any]) -> str:
    decision = decide(claims, now=NOW)
    assert isinstance(decision, Refusal), decision
    assert decision.message("ja") != decision.message("en")
    return decision.reason


def test_a_current_anchor_checked_now_opens_the_account_with_its_evidence() -> None:
    opening = decide(_claims(), now=NOW)
    assert opening == Opening(
        name="山田　太郎", birthdate="1980-02-17", address="東京都千代田区永田町1-7-1",
        verified_at=TIME, evidence_issuer="OU=JPKI for digital signature,O=JPKI,C=JP",
        evidence_serial="1f2e3d", acr="urn:jpki-idp:acr:ial2-aal2-now")


@pytest.mark.parametrize("acr", ["urn:jpki-idp:acr:ial2-aal2-card-now",
                                 "urn:jpki-idp:acr:ial2-aal2-phr-now"])
def test_every_checked_now_value_opens(acr: str) -> None:
    assert isinstance(decide(_claims(acr=acr), now=NOW), Opening)


def test_after_a_move_whose_reissue_was_skipped_it_asks_for_the_reissue() -> None:
    moved = _claims(acr="urn:jpki-idp:acr:ial1-aal2")
    del moved["verified_claims"]
    assert _reason(moved) == "not_proven"
    refusal = decide(moved, now=NOW)
    assert isinstance(refusal, Refusal)
    assert "再発行" in refusal.ja
    assert "re-issue" in refusal.en.lower()


def test_an_ial1_acr_is_refused_even_if_claims_came_along() -> None:
    assert _reason(_claims(acr="urn:jpki-idp:acr:ial1-aal2-phr")) == "not_proven"


def test_no_verified_claims_at_ial2_means_not_shared() -> None:
    declined = _claims()
    del declined["verified_claims"]
    assert _reason(declined) == "not_shared"


def test_another_trust_framework_or_evidence_is_refused() -> None:
    other = _claims()
    other["verified_claims"]["verification"]["trust_framework"] = "de_aml"
    assert _reason(other) == "wrong_trust_framework"
    document = _claims()
    document["verified_claims"]["verification"]["evidence"] = [{"type": "document"}]
    assert _reason(document) == "wrong_evidence"
    no_serial = _claims()
    del no_serial["verified_claims"]["verification"]["evidence"][0]["serial_number"]
    assert _reason(no_serial) == "wrong_evidence"


def test_a_verification_older_than_the_limit_or_without_time_is_stale() -> None:
    old = _claims()
    old["verified_claims"]["verification"]["time"] = "2026-05-28T18:00:00Z"
    assert _reason(old) == "stale_verification"
    untimed = _claims()
    del untimed["verified_claims"]["verification"]["time"]
    assert _reason(untimed) == "stale_verification"


def test_an_identity_current_only_by_a_crl_is_not_checked_now() -> None:
    assert _reason(_claims(acr="urn:jpki-idp:acr:ial2-aal2")) == "not_checked_now"


def test_a_missing_address_is_refused() -> None:
    partial = _claims()
    del partial["verified_claims"]["claims"]["address"]
    assert _reason(partial) == "missing_claims"


def test_an_array_answer_is_read_like_an_object() -> None:
    claims = _claims()
    claims["verified_claims"] = [claims["verified_claims"]]
    assert isinstance(decide(claims, now=NOW), Opening)


def test_the_idps_unmet_requirements_error_asks_for_the_reissue() -> None:
    assert refusal_for_error("unmet_authentication_requirements").reason == "idp_refused"
    assert refusal_for_error("access_denied").reason == "cancelled"


def test_the_request_asks_for_exactly_what_the_decision_reads() -> None:
    params = authorization_params()
    assert params["acr_values"] == "urn:jpki-idp:acr:ial2-aal2-now"
    verified = params["claims"]["id_token"]["verified_claims"]
    assert verified["verification"]["trust_framework"] == {"value": "jp_aml"}
    assert verified["verification"]["evidence"][0]["type"] == {"value": "electronic_signature"}
    assert set(verified["claims"]) == {"name", "birthdate", "address"}
