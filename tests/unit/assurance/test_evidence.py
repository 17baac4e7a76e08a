"""The level a login earns, decided in one place from its evidence (idp.assurance.evidence)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from idp import i18n
from idp.accounts.anchor_check import AnchorCheck
from idp.accounts.anchor_policy import AnchorState
from idp.assurance.evidence import AMR, Evidence, Method, Proofing, level_for, method_of
from idp.assurance.levels import IAL1_AAL2, IAL2_AAL2
from idp.errors import AccountClosedError, AccountSuspendedError
from idp.i18n.errors import localised_error

AT = datetime(2026, 11, 21, tzinfo=UTC)


@pytest.mark.parametrize("method", list(Method))
def test_a_current_anchor_proves_the_identity_whatever_the_authenticator(method: Method) -> None:
    level = level_for(Evidence(Proofing.CURRENT, method))
    assert level.acr is IAL2_AAL2
    assert level.amr == AMR[method]


@pytest.mark.parametrize("method", list(Method))
def test_an_anchor_not_current_gives_the_reduced_level(method: Method) -> None:
    assert level_for(Evidence(Proofing.NOT_CURRENT, method)).acr is IAL1_AAL2


def test_the_card_is_a_hardware_key_with_a_pin_and_a_synced_passkey_is_a_software_key() -> None:
    assert AMR[Method.CARD] == ("hwk", "pin", "mfa")
    assert AMR[Method.PASSKEY_DEVICE_BOUND] == ("hwk", "user", "mfa")
    assert AMR[Method.PASSKEY_SYNCED] == ("swk", "user", "mfa")
    assert [method_of(amr) for amr in AMR.values()] == ["card", "passkey", "passkey"]


@pytest.mark.parametrize(("state", "proofing"), [
    (AnchorState.CURRENT, Proofing.CURRENT),
    (AnchorState.NEEDS_REISSUE, Proofing.NOT_CURRENT),
    (AnchorState.UNVERIFIABLE, Proofing.NOT_CURRENT),
])
def test_only_a_current_anchor_check_counts_as_current_proofing(
        state: AnchorState, proofing: Proofing) -> None:
    assert AnchorCheck("pid", state, "r", None, AT).proofing is proofing


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
