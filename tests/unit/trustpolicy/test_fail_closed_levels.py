"""Fail-closed per level in the trust policy document: ``revocation.<purpose>.fail_closed`` is
one flag (every level, as before) or one flag per identity level a login asks for; validated,
set by key (a single level turns the flag into one per level), shown in the diff, and given to
the trust core: its revocation check refuses by itself only when every level fails closed."""

from __future__ import annotations

import pytest

from idp.assurance import levels
from idp.trustpolicy.document import (
    RevocationRule,
    TrustPolicy,
    TrustPolicyError,
    diff,
    parse_policy,
    with_value,
)
from idp.trustpolicy.service import revocation_policy

PER_LEVEL = {"ial1": False, "ial2": True}


def test_a_single_flag_still_parses_and_means_every_level() -> None:
    rule = RevocationRule(fail_closed=True)
    assert [rule.fails_closed_at(ial) for ial in (1, 2)] == [True, True]
    assert rule.fails_closed_everywhere
    assert rule.fail_closed_text() == "true"
    open_rule = RevocationRule(fail_closed=False)
    assert not open_rule.fails_closed_at(2)
    assert revocation_policy(open_rule).fail_closed is False
    assert parse_policy(TrustPolicy().as_json()).revocation["sign"].fail_closed is True


def test_one_flag_per_level() -> None:
    policy = parse_policy({**TrustPolicy().as_json(), "revocation": {
        "sign": {"fail_closed": PER_LEVEL}, "auth": {}}})
    rule = policy.revocation["sign"]
    assert (rule.fails_closed_at(1), rule.fails_closed_at(2)) == (False, True)
    assert not rule.fails_closed_everywhere
    assert rule.fail_closed_text() == "ial1=false ial2=true"
    # The revocation check lets the unknown status through; the anchor check weighs the level.
    assert revocation_policy(rule).fail_closed is False
    assert revocation_policy(RevocationRule(fail_closed={"ial1": True, "ial2": True})
                             ).fail_closed is True
    assert policy.as_json()["revocation"]["sign"]["fail_closed"] == PER_LEVEL


@pytest.mark.parametrize(("value", "says"), [
    ({"ial2": True}, "fail_closed names no rule for ial1"),
    ({"ial1": True, "ial2": True, "ial3": False}, "ial3"),
    ({"ial1": "sometimes", "ial2": True}, "fail_closed"),
    ("perhaps", "fail_closed"),
])
def test_a_malformed_per_level_rule_is_refused(value: object, says: str) -> None:
    with pytest.raises(TrustPolicyError, match=says):
        with_value(TrustPolicy(), "revocation.sign.fail_closed", value)


def test_set_by_key_one_level_or_the_whole_rule() -> None:
    policy = TrustPolicy()
    one = with_value(policy, "revocation.sign.fail_closed.ial1", False)
    assert one.revocation["sign"].fail_closed == PER_LEVEL  # the flag became one per level
    assert one.revocation["auth"].fail_closed is True
    assert diff(policy, one) == [
        {"path": "revocation.sign.fail_closed", "from": True, "to": None},
        {"path": "revocation.sign.fail_closed.ial1", "from": None, "to": False},
        {"path": "revocation.sign.fail_closed.ial2", "from": None, "to": True}]
    again = with_value(one, "sign.fail_closed.ial1", True)  # the settings-style alias
    assert again.revocation["sign"].fail_closed == {"ial1": True, "ial2": True}
    assert with_value(again, "revocation.sign.fail_closed", True).revocation[
        "sign"].fail_closed is True
    whole = with_value(policy, "revocation.auth.fail_closed", PER_LEVEL)
    assert whole.revocation["auth"].fail_closed == PER_LEVEL
    with pytest.raises(TrustPolicyError, match="unknown level 'ial3'"):
        with_value(policy, "revocation.sign.fail_closed.ial3", True)
    with pytest.raises(TrustPolicyError, match="unknown trust policy key"):
        with_value(policy, "revocation.post.fail_closed.ial1", True)


def test_the_level_a_login_asks_for_is_the_lowest_it_accepts() -> None:
    ns = "urn:jpki-idp:acr:"
    assert levels.requested_ial([]) is None
    assert levels.requested_ial(["urn:other:gold"]) is None
    assert levels.requested_ial([ns + "ial2-aal2"]) == 2
    assert levels.requested_ial([ns + "ial2-aal2-now", ns + "ial1-aal2"]) == 1
    assert levels.requested_ial(["phr"]) == 1
