"""The stores on SQLite and PostgreSQL: codes single-use, refresh rotation with reuse detection,
consent remembered and revocable."""

from __future__ import annotations

from flask import Flask

from idp import db
from idp.app import services_of
from idp.oidc import consent
from tests.unit.oidc.conftest import Rp


def test_a_code_is_redeemed_once(db_rp: Rp) -> None:
    db_rp.login()
    code, verifier = db_rp.code()
    assert db_rp.exchange(code, verifier).status_code == 200
    assert db_rp.exchange(code, verifier).get_json()["error"] == "invalid_grant"


def test_refresh_rotation_and_reuse_detection(db_rp: Rp) -> None:
    db_rp.login()
    code, verifier = db_rp.code()
    first = db_rp.exchange(code, verifier).get_json()
    second = db_rp.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == 200
    assert db_rp.token(grant_type="refresh_token",
                       refresh_token=first["refresh_token"]).status_code == 400
    assert db_rp.token(grant_type="refresh_token",
                       refresh_token=second.get_json()["refresh_token"]).status_code == 400


def test_consent_is_remembered_per_claim_and_revocation_revokes_tokens(db_rp: Rp) -> None:
    private_id = db_rp.login()
    code, verifier = db_rp.code()
    tokens = db_rp.exchange(code, verifier).get_json()
    factory = services_of(db_rp.app).sessions
    with db.transaction(factory) as session:
        record = consent.find(session, private_id, db_rp.client_id)
        assert record is not None
        assert "name" in record.approved
        assert consent.revoke(session, private_id, db_rp.client_id)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert db_rp.browser.get("/userinfo", headers=bearer).status_code == 401
    location, _ = db_rp.authorize()
    assert "/interaction/" in location


def test_the_person_lists_and_revokes_a_consent(db_rp: Rp) -> None:
    db_rp.login()
    code, verifier = db_rp.code()
    tokens = db_rp.exchange(code, verifier).get_json()
    listing = db_rp.browser.get("/account/consents").get_json()
    assert [c["client_id"] for c in listing["consents"]] == [db_rp.client_id]
    refused = db_rp.browser.post(f"/account/consents/{db_rp.client_id}/revoke")
    assert refused.status_code == 403
    revoked = db_rp.browser.post(f"/account/consents/{db_rp.client_id}/revoke",
                                 headers={"X-CSRF-Token": listing["csrf_token"]})
    assert revoked.get_json() == {"revoked": True}
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert db_rp.browser.get("/userinfo", headers=bearer).status_code == 401
    assert db_rp.browser.get("/account/consents").get_json()["consents"] == []


def test_consents_need_a_login(db_app: Flask) -> None:
    assert db_app.test_client().get("/account/consents").status_code == 401
