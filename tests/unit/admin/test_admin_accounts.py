"""Accounts as support and administrators see them: found by private ID or by the pairwise
sub a relying party knows; locked and unlocked with a reason — the person is refused at their
next sign-in with a message saying why, their sessions end, and the relying parties they
consented to hear RISC account-disabled, then account-enabled."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from idp.accounts.anchor_check import AnchorChecker
from idp.app import services_of
from idp.errors import AccountLockedError
from idp.events.models import SecurityEvent
from idp.events.vocabulary import ACCOUNT_DISABLED, ACCOUNT_ENABLED, SESSION_REVOKED
from idp.i18n.errors import localised_error
from idp.oidc.pairwise import subject
from tests.support.admin import Admin, signed_in
from tests.unit.events.conftest import receiver_of


@pytest.fixture
def admin_on_db(db_app: Flask) -> Admin:
    return signed_in(db_app, "alice", "admin")


def _events(app: Flask) -> list[str]:
    with services_of(app).sessions() as db:
        return list(db.scalars(select(SecurityEvent.event_type).order_by(SecurityEvent.id)))


def test_an_account_is_found_by_the_pairwise_sub_a_relying_party_knows(
        db_app: Flask, admin_on_db: Admin) -> None:
    bank = receiver_of(db_app, "Bank")
    private_id = bank.consented_person()
    receiver_of(db_app, "Shop").consented_person()  # someone else, at another relying party
    with services_of(db_app).sessions() as db:
        client = services_of(db_app).oidc.clients.get(db, bank.client_id)
    sub = subject(client, private_id, services_of(db_app).oidc.pairwise_salt)
    assert sub != private_id
    found = admin_on_db.call("GET", f"/admin/api/accounts?client_id={bank.client_id}&sub={sub}")
    assert [a["private_id"] for a in found.get_json()["accounts"]] == [private_id]
    none = admin_on_db.call("GET", f"/admin/api/accounts?client_id={bank.client_id}&sub=nope")
    assert none.get_json()["accounts"] == []
    detail = admin_on_db.call("GET", f"/admin/api/accounts/{private_id}").get_json()
    assert [c["client_id"] for c in detail["consents"]] == [bank.client_id]
    assert len(detail["sign_ins"]) == 1


def test_a_lock_refuses_the_next_sign_in_ends_sessions_and_tells_relying_parties(
        db_app: Flask, admin_on_db: Admin) -> None:
    bank = receiver_of(db_app, "Bank")
    bank.create(delivery={"method": "urn:ietf:rfc:8936"},
                events_requested=[ACCOUNT_DISABLED, ACCOUNT_ENABLED, SESSION_REVOKED])
    private_id = bank.consented_person()
    assert bank.rp.browser.get("/account", headers={"Accept": "application/json"}) \
        .status_code == 200
    locked = admin_on_db.call("POST", f"/admin/api/accounts/{private_id}/lock",
                              {"reason": "reported stolen phone, ticket 9"})
    assert locked.get_json() == {"private_id": private_id, "locked": True, "state": "active"}
    assert bank.rp.browser.get("/account", headers={"Accept": "application/json"}) \
        .status_code == 401  # the session ended
    check = services_of(db_app).anchors.check(private_id)
    assert isinstance(services_of(db_app).anchors, AnchorChecker)
    assert check.locked
    with pytest.raises(AccountLockedError) as refused:
        check.refuse_inactive()
    assert "サポート窓口" in localised_error(refused.value, "ja")["error_description"]
    assert "support desk" in localised_error(refused.value, "en")["error_description"]
    assert _events(db_app)[-2:] == [SESSION_REVOKED, ACCOUNT_DISABLED]
    detail = admin_on_db.call("GET", f"/admin/api/accounts/{private_id}").get_json()
    assert detail["lock"]["reason"] == "reported stolen phone, ticket 9"

    unlocked = admin_on_db.call("POST", f"/admin/api/accounts/{private_id}/unlock",
                                {"reason": "phone found"})
    assert unlocked.get_json()["locked"] is False
    assert _events(db_app)[-1] == ACCOUNT_ENABLED
    assert not services_of(db_app).anchors.check(private_id).locked


def test_a_lock_without_a_reason_is_refused_and_changes_nothing(
        db_app: Flask, admin_on_db: Admin) -> None:
    bank = receiver_of(db_app, "Bank")
    private_id = bank.consented_person()
    refused = admin_on_db.call("POST", f"/admin/api/accounts/{private_id}/lock", {})
    assert refused.status_code == 400
    assert "reason" in refused.get_json()["error_description"]
    assert admin_on_db.call("GET", f"/admin/api/accounts/{private_id}").get_json()["lock"] \
        is None


def test_an_unknown_account_is_404(app: Flask, admin: Admin) -> None:
    assert admin.call("GET", "/admin/api/accounts/pid_nobody").status_code == 404
    assert admin.call("POST", "/admin/api/accounts/pid_nobody/lock",
                      {"reason": "x"}).status_code == 404
    found = admin.call("GET", "/admin/api/accounts?private_id=pid_nobody").get_json()
    assert found == {"accounts": []}


def test_a_search_needs_a_key(admin: Admin) -> None:
    answer = admin.call("GET", "/admin/api/accounts")
    assert answer.status_code == 400
    assert admin.call("GET", "/admin/api/accounts?colour=red").status_code == 400
