"""A change reaches exactly the relying parties the person consented to that keep a stream, as
the events that stream asked for, about the subject it knows, telling it only what it was given:
one SET per event, the SETs of one change sharing a txn."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import select

from idp.accounts.changes import Change, Credential, admin_action
from idp.app import services_of
from idp.events.emitter import claims
from idp.events.models import SecurityEvent, Stream
from idp.events.vocabulary import (
    ACCOUNT_DISABLED,
    ACCOUNT_PURGED,
    ASSURANCE_LEVEL_CHANGE,
    CREDENTIAL_CHANGE,
    SESSION_REVOKED,
    TOKEN_CLAIMS_CHANGE,
)
from idp.oidc import consent
from tests.unit.events.conftest import Receiver, receiver_of, record
from tests.unit.oidc.conftest import ISSUER

ANCHOR = Credential("CN=JPKI-SIM sign,O=JPKI-SIM,C=JP", "1f2e")
MOVED = {"address": {"formatted": "宮城県仙台市青葉区1-1", "country": "JP"}}


def _move(private_id: str) -> Change:
    return Change(private_id, 1_700_000_000, "policy", revoked=ANCHOR, ial=(2, 1),
                  reason="anchor re-check: sign_revoked:affiliation_changed")


@dataclass(frozen=True)
class Owed:
    """An ``ssf_events`` row, with the claims of the SET it makes."""

    row: SecurityEvent
    claims: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, name)


def owed(app: Flask, receiver: Receiver | None = None) -> list[Owed]:
    with services_of(app).sessions() as session:
        rows = session.execute(select(SecurityEvent, Stream.client_id).join(
            Stream, Stream.stream_id == SecurityEvent.stream_id)
            .order_by(SecurityEvent.id)).all()
        session.expunge_all()
    return [Owed(row, claims(ISSUER, client_id, row.stream_id, row)) for row, client_id in rows
            if receiver is None or client_id == receiver.client_id]


def _sub(app: Flask, receiver: Receiver, private_id: str) -> str:
    from idp.oidc.pairwise import subject

    with services_of(app).sessions() as session:
        client = services_of(app).oidc.clients.get(session, receiver.client_id)
    return subject(client, private_id, services_of(app).oidc.pairwise_salt)


def test_a_move_is_told_to_each_consenting_stream_about_the_subject_it_knows(
        app: Flask, bank: Receiver) -> None:
    shop, forum, stranger = (receiver_of(app, name) for name in ("Shop", "Forum", "Stranger"))
    private_id = bank.consented_person()
    shop.consented_person(private_id=private_id)
    forum.consented_person(private_id=private_id)  # consented, but keeps no stream
    for receiver in (bank, shop, stranger):  # the stranger was never used by this person
        receiver.create()
    record(app, _move(private_id))
    bank_sets, shop_sets = owed(app, bank), owed(app, shop)
    assert [row.event_type for row in bank_sets] == [CREDENTIAL_CHANGE, ASSURANCE_LEVEL_CHANGE]
    assert owed(app, stranger) == owed(app, forum) == []
    revoke, level = (row.claims for row in bank_sets)
    assert revoke["sub_id"] == {"format": "iss_sub", "iss": ISSUER,
                                "sub": _sub(app, bank, private_id)}
    assert shop_sets[0].claims["sub_id"]["sub"] == _sub(app, shop, private_id)
    assert revoke["events"][CREDENTIAL_CHANGE] == {
        "credential_type": "x509", "change_type": "revoke", "x509_issuer": ANCHOR.issuer,
        "x509_serial": "1f2e", "event_timestamp": 1_700_000_000, "initiating_entity": "policy",
        "reason_admin": {"en": "anchor re-check: sign_revoked:affiliation_changed"}}
    assert level["events"][ASSURANCE_LEVEL_CHANGE] == {
        "namespace": "NIST-IAL", "current_level": "nist-ial1", "previous_level": "nist-ial2",
        "change_direction": "decrease", "event_timestamp": 1_700_000_000,
        "initiating_entity": "policy",
        "reason_admin": {"en": "anchor re-check: sign_revoked:affiliation_changed"}}
    assert len({row.claims["txn"] for row in [*bank_sets, *shop_sets]}) == 1
    assert len({row.jti for row in [*bank_sets, *shop_sets]}) == 4
    assert all(row.private_id == private_id for row in bank_sets)


def test_changed_claims_are_told_only_to_those_given_them_and_only_those(
        app: Flask, bank: Receiver) -> None:
    shop = receiver_of(app, "Shop")
    private_id = bank.consented_person(["name", "address"])
    shop.consented_person(["name"], private_id=private_id)
    bank.create()
    shop.create()
    record(app, Change(private_id, 5, "user", claims={**MOVED, "name": "山田　一郎"}))
    [bank_change] = [r for r in owed(app, bank) if r.event_type == TOKEN_CLAIMS_CHANGE]
    [shop_change] = [r for r in owed(app, shop) if r.event_type == TOKEN_CLAIMS_CHANGE]
    assert bank_change.claims["events"][TOKEN_CLAIMS_CHANGE]["claims"] == {
        **MOVED, "name": "山田　一郎"}
    assert shop_change.claims["events"][TOKEN_CLAIMS_CHANGE]["claims"] == {"name": "山田　一郎"}
    record(app, Change(private_id, 6, "user", claims=MOVED))  # the address alone
    assert [r.claims["events"][TOKEN_CLAIMS_CHANGE]["claims"] for r in owed(app, shop)] == [
        {"name": "山田　一郎"}]  # nothing new for the shop, not even that something changed


def test_a_stream_hears_only_the_events_it_asked_for(app: Flask, bank: Receiver) -> None:
    private_id = bank.consented_person()
    bank.create(events_requested=[ASSURANCE_LEVEL_CHANGE])
    record(app, _move(private_id))
    assert [row.event_type for row in owed(app)] == [ASSURANCE_LEVEL_CHANGE]


def test_a_removed_subject_is_not_told_until_added_again(app: Flask, bank: Receiver) -> None:
    private_id = bank.consented_person()
    stream_id = bank.create()["stream_id"]
    subject = {"format": "iss_sub", "iss": ISSUER, "sub": _sub(app, bank, private_id)}
    assert bank.call("POST", "/ssf/subjects:remove", {
        "stream_id": stream_id, "subject": subject}).status_code == 204
    record(app, _move(private_id))
    assert owed(app) == []
    assert bank.call("POST", "/ssf/subjects:add", {
        "stream_id": stream_id, "subject": subject}).status_code == 200
    record(app, _move(private_id))
    assert len(owed(app)) == 2


def test_a_disabled_stream_and_a_withdrawn_consent_hear_nothing(
        app: Flask, bank: Receiver) -> None:
    shop = receiver_of(app, "Shop")
    private_id = bank.consented_person()
    shop.consented_person(private_id=private_id)
    stream_id = bank.create()["stream_id"]
    shop.create()
    bank.call("POST", "/ssf/status", {"stream_id": stream_id, "status": "disabled"})
    consent.withdraw(services_of(app).oidc, private_id, shop.client_id)
    record(app, _move(private_id))
    assert owed(app) == []


def test_an_administrators_actions_become_risc_and_caep_events(
        app: Flask, bank: Receiver) -> None:
    private_id = bank.consented_person()
    bank.create()
    record(app, admin_action(private_id, 7, action="disabled", reason="court order"),
           admin_action(private_id, 8, action="sessions_revoked", reason="stolen device"),
           admin_action(private_id, 9, action="purged", reason="erasure request"))
    found: list[tuple[str, Any, str | None]] = [
        (row.event_type, row.claims["events"][row.event_type], row.private_id)
        for row in owed(app)]
    assert found == [
        (ACCOUNT_DISABLED, {}, private_id),
        (SESSION_REVOKED, {"event_timestamp": 8, "initiating_entity": "admin",
                           "reason_admin": {"en": "stolen device"}}, private_id),
        (ACCOUNT_PURGED, {}, None)]  # owed whatever happens to the account's rows
