"""Admin changes made through the API on one app instance hold at the next login on another
instance on the same database (two workers or nodes), over a J-LIS that is a real HTTP server on
loopback: a retired CA generation's card is refused, a medium held to IAL1 withholds the
identity level, a rollback restores both; a locked account is refused until unlocked."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from idp.admin.identity import CLI
from idp.app import services_of
from tests.unit.web.test_jlis_outage_cells import browser, card_login, passkey_sign_in
from tests.unit.web.test_trust_policy_effect import instances, next_login


def _token(app: Flask) -> dict[str, str]:
    identity = services_of(app).admin.identity
    identity.add(CLI, "ops", "admin")
    return {"Authorization": f"Bearer {identity.issue_token('ops', 600)[0]}"}


def test_admin_api_changes_hold_at_the_next_login_elsewhere(tmp_path: Path,
                                                           database_url: str) -> None:
    with instances(tmp_path, database_url) as found:
        holder = found.people.holder
        api, headers = found.first.test_client(), _token(found.first)
        first = api.get("/admin/api/trust/policy", headers=headers).get_json()["version"]
        assert passkey_sign_in(browser(found.second), holder) == "ial2-aal2; current (sign_good)"

        retired = api.post("/admin/api/trust/anchors/retire", headers=headers, json={
            "purpose": "auth", "generation": "2023", "reason": "test: generation withdrawn"})
        assert retired.status_code == 200, retired.get_json()
        assert retired.get_json()["actor"] == "admin:ops"
        next_login()
        assert card_login(browser(found.second), holder) == "403 ca_retired"

        held = api.post("/admin/api/trust/policy/set", headers=headers, json={
            "key": "media.card.max_ial", "value": 1, "reason": "test: cards to IAL1"})
        assert held.status_code == 200, held.get_json()
        next_login()
        assert passkey_sign_in(browser(found.second), holder) == "ial1-aal2; current (sign_good)"

        back = api.post("/admin/api/trust/policy/rollback", headers=headers, json={
            "version": first, "reason": "test: back to the start"})
        assert back.status_code == 200, back.get_json()
        next_login()
        assert card_login(browser(found.second), holder) == "ial2-aal2; current (sign_good)"


def test_a_locked_account_is_refused_at_its_next_sign_in_on_every_instance(
        tmp_path: Path, database_url: str) -> None:
    """Locked through the API on one instance: the passkey and the card are refused on the
    other with ``account_locked`` (the person is told to contact support); unlocked, they
    sign in again."""
    with instances(tmp_path, database_url) as found:
        holder = found.people.holder
        api, headers = found.first.test_client(), _token(found.first)
        locked = api.post(f"/admin/api/accounts/{holder.private_id}/lock", headers=headers,
                          json={"reason": "test: reported stolen"})
        assert locked.status_code == 200, locked.get_json()
        assert passkey_sign_in(browser(found.second), holder) == "403 account_locked"
        assert card_login(browser(found.second), holder) == "403 account_locked"
        api.post(f"/admin/api/accounts/{holder.private_id}/unlock", headers=headers,
                 json={"reason": "test: found"})
        assert passkey_sign_in(browser(found.second), holder) == "ial2-aal2; current (sign_good)"
