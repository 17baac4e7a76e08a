"""What a re-checked anchor means for a passkey sign-in (idp.login.anchor_gate)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from idp import i18n
from idp.accounts.anchor_policy import AnchorState
from idp.login.anchor_gate import AnchorClosedError, AnchorSuspendedError, decide
from idp.passkeys.summaries import PasskeyLogin


@dataclass(frozen=True)
class Check:
    state: AnchorState
    reason: str = "sign_revoked"
    next_step: str | None = None
    checked_at: datetime = datetime(2026, 11, 21, tzinfo=UTC)


NO_LOGIN = cast(PasskeyLogin, None)  # a refusal never looks at the passkey


def japanese(key: str, **values: Any) -> str:
    return i18n.translate("ja", key, **values)


def test_a_suspended_anchor_refuses_with_its_own_code_and_the_way_back() -> None:
    with pytest.raises(AnchorSuspendedError) as refused:
        decide(NO_LOGIN, Check(AnchorState.SUSPENDED), japanese)
    assert refused.value.code == "account_suspended"
    assert refused.value.status == 403
    assert "新しいカード" in refused.value.description


def test_a_closed_anchor_refuses_with_its_own_code_and_no_way_back() -> None:
    with pytest.raises(AnchorClosedError) as refused:
        decide(NO_LOGIN, Check(AnchorState.CLOSED),
               lambda key: i18n.translate("en", key))
    assert refused.value.code == "account_closed"
    assert "can no longer be used" in refused.value.description
