"""The level a login earns, decided in one place from its evidence (idp.assurance.evidence)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from idp import i18n
from idp.accounts.anchor_check import AnchorCheck
from idp.accounts.anchor_policy import AnchorState
from idp.assurance import levels
from idp.assurance.evidence import AMR, Evidence, Method, Proofing, level_for, method_of
from idp.errors import AccountClosedError, AccountSuspendedError
from idp.i18n.errors import localised_error

AT = datetime(2026, 11, 21, tzinfo=UTC)


# Every evidence combination and what it earns (the table in idp/assurance/evidence.py).
EARNED = [
    (Proofing.CHECKED_NOW, Method.CARD, levels.IAL2_AAL2_CARD_NOW),
    (Proofing.CHECKED_NOW, Method.PASSKEY_DEVICE_BOUND, levels.IAL2_AAL2_PHR_NOW),
    (Proofing.CHECKED_NOW, Method.PASSKEY_SYNCED, levels.IAL2_AAL2_PHR_NOW),
    (Proofing.CURRENT, Method.CARD, levels.IAL2_AAL2_CARD),
    (Proofing.CURRENT, Method.PASSKEY_DEVICE_BOUND, levels.IAL2_AAL2_PHR),
    (Proofing.CURRENT, Method.PASSKEY_SYNCED, levels.IAL2_AAL2_PHR),
    (Proofing.NOT_CURRENT, Method.CARD, levels.IAL1_AAL2_CARD),
    (Proofing.NOT_CURRENT, Method.PASSKEY_DEVICE_BOUND, levels.IAL1_AAL2_PHR),
    (Proofing.NOT_CURRENT, Method.PASSKEY_SYNCED, levels.IAL1_AAL2_PHR),
]


def test_the_table_covers_every_evidence_combination() -> None:
    assert {(p, m) for p, m, _ in EARNED} == {(p, m) for p in Proofing for m in Method}


@pytest.mark.parametrize(("proofing", "method", "acr"), EARNED)
def test_each_evidence_earns_its_value_and_the_amr_of_its_method(
        proofing: Proofing, method: Method, acr: levels.AcrLevel) -> None:
    level = level_for(Evidence(proofing, method))
    assert level.acr is acr
    assert level.amr == AMR[method]
    assert acr.ial == (1 if proofing is Proofing.NOT_CURRENT else 2)
    assert acr.checked_now is (proofing is Proofing.CHECKED_NOW)
    assert acr.implies(levels.IAL1_AAL2)
    assert acr.implies(levels.IAL2_AAL2) is (proofing is not Proofing.NOT_CURRENT)
    assert acr.implies(levels.PHR_LEVEL) is (method is not Method.CARD)
    # The historic values keep being asserted to relying parties that ask for none.
    assert levels.asserted(acr.value, []) == (
        levels.IAL1_AAL2 if proofing is Proofing.NOT_CURRENT else levels.IAL2_AAL2).value


def test_the_card_is_a_smart_card_with_a_pin_and_a_synced_passkey_is_a_software_key() -> None:
    assert AMR[Method.CARD] == ("sc", "hwk", "pin", "mfa")
    assert AMR[Method.PASSKEY_DEVICE_BOUND] == ("hwk", "user", "mfa")
    assert AMR[Method.PASSKEY_SYNCED] == ("swk", "user", "mfa")
    assert [method_of(amr) for amr in AMR.values()] == ["card", "passkey", "passkey"]
    assert method_of(["hwk", "pin", "mfa"]) == "card"  # sessions recorded before "sc"


@pytest.mark.parametrize(("state", "source", "proofing"), [
    (AnchorState.CURRENT, "ocsp", Proofing.CHECKED_NOW),
    (AnchorState.CURRENT, "crl", Proofing.CURRENT),
    (AnchorState.CURRENT, None, Proofing.CURRENT),
    (AnchorState.NEEDS_REISSUE, "ocsp", Proofing.NOT_CURRENT),
    (AnchorState.UNVERIFIABLE, "crl", Proofing.NOT_CURRENT),
])
def test_only_a_current_anchor_counts_and_only_ocsp_counts_as_checked_now(
        state: AnchorState, source: str | None, proofing: Proofing) -> None:
    assert AnchorCheck("pid", state, "r", None, AT, source).proofing is proofing


def test_a_suspended_anchor_refuses_with_its_own_code_and_the_way_back() -> None:
    with pytest.raises(AccountSuspendedError) as refused:
        AnchorCheck("pid", AnchorState.SUSPENDED, "both_revoked", "reissue", AT).refuse_inactive()
    assert refused.value.code == "account_suspended"
    assert refused.value.status == 403
    assert "新しいカード" in localised_error(refused.value, "ja")["error_description"]


def test_a_closed_anchor_refuses_with_its_own_code_and_no_way_back() -> None:
    with pytest.raises(AccountClosedError) as refused:
        AnchorCheck("pid", AnchorState.CLOSED, "closed", None, AT).refuse_inactive()
    assert refused.value.code == "account_closed"
    assert "can no longer be used" in localised_error(refused.value, "en")["error_description"]
    assert i18n.translate("en", "error.account_closed")


def test_an_active_anchor_is_not_refused() -> None:
    check = AnchorCheck("pid", AnchorState.NEEDS_REISSUE, "sign_revoked", "reissue", AT)
    assert check.refuse_inactive() is None
