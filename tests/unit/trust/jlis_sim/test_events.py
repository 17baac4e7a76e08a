"""Life events do to the certificates what JPKI does, rewrite the card file and record links."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from trust import cardfile
from trust.jlis_sim import events
from trust.jlis_sim.errors import EventImpossibleError, UnknownPersonError
from trust.jlis_sim.models import CertificateRecord
from trust.jlis_sim.store import Sim


def _record(sim: Sim, serial: str) -> CertificateRecord:
    with sim.transaction() as session:
        record = session.get(CertificateRecord, serial)
        assert record is not None
        return record


def _status(sim: Sim, serial: str) -> tuple[str, str | None]:
    record = _record(sim, serial)
    return record.status, record.revocation_reason


def test_a_move_revokes_and_reissues_only_the_signing_certificate(sim: Sim,
                                                                   add_person: Any) -> None:
    before = add_person()
    after = events.apply(sim, before["person_id"], "move", address="大阪府大阪市北区梅田1")
    assert _status(sim, before["sign_serial"]) == ("revoked", "affiliationChanged")
    assert _status(sim, before["auth_serial"]) == ("valid", None)
    assert after["auth_serial"] == before["auth_serial"]
    assert _record(sim, after["sign_serial"]).previous_serial == before["sign_serial"]
    assert _record(sim, before["sign_serial"]).replaced_by == after["sign_serial"]


def test_a_move_rewrites_the_signing_slot_and_keeps_the_auth_counter(sim: Sim,
                                                                     add_person: Any) -> None:
    before = add_person()
    path = Path(before["card_file"])
    with cardfile.locked(path):  # the virtual card spent a try on each PIN
        card = cardfile.load(path)
        assert card.sign is not None
        assert card.auth is not None
        cardfile.save(path, cardfile.CardFile(card.person_id, card.token,
                                              card.sign.with_tries(4), card.auth.with_tries(2)))
    events.apply(sim, before["person_id"], "move", address="大阪府大阪市北区梅田1")
    card = cardfile.load(path)
    assert card.sign is not None
    assert card.auth is not None
    assert (card.sign.tries_left, card.auth.tries_left) == (5, 2)
    assert card.sign.pin == before["sign_pin"]  # the holder keeps the PIN
    sign = x509.load_der_x509_certificate(card.sign.certificate)
    assert "大阪市" in sign.subject.rfc4514_string()


def test_a_rename_puts_the_new_name_in_the_new_certificate(sim: Sim, add_person: Any) -> None:
    before = add_person()
    after = events.apply(sim, before["person_id"], "rename", name="佐藤 太郎")
    assert _status(sim, before["sign_serial"])[1] == "affiliationChanged"
    assert "佐藤".encode() in _record(sim, after["sign_serial"]).der


def test_renewal_supersedes_both_and_links_old_to_new(sim: Sim, add_person: Any) -> None:
    before = add_person()
    after = events.apply(sim, before["person_id"], "renew")
    for purpose in ("sign", "auth"):
        old, new = before[f"{purpose}_serial"], after[f"{purpose}_serial"]
        assert _status(sim, old) == ("revoked", "superseded")
        assert _record(sim, new).previous_serial == old


def test_a_lost_card_is_held_then_lifted_when_found(sim: Sim, add_person: Any) -> None:
    person = add_person()
    events.apply(sim, person["person_id"], "lose-card")
    assert _status(sim, person["sign_serial"]) == ("hold", "certificateHold")
    assert _status(sim, person["auth_serial"]) == ("hold", "certificateHold")
    events.apply(sim, person["person_id"], "found-card")
    assert _status(sim, person["auth_serial"]) == ("valid", None)


def test_a_card_never_found_is_revoked_and_a_new_card_links_old_to_new(
        sim: Sim, add_person: Any) -> None:
    person = add_person()
    events.apply(sim, person["person_id"], "lose-card")
    stopped = events.apply(sim, person["person_id"], "card-not-found")
    assert stopped["auth_serial"] is None
    assert _status(sim, person["auth_serial"]) == ("revoked", "cessationOfOperation")
    new = events.apply(sim, person["person_id"], "new-card")
    assert _record(sim, new["auth_serial"]).previous_serial == person["auth_serial"]
    assert new["auth_pin"] == person["auth_pin"]
    card = cardfile.load(Path(person["card_file"]))
    assert card.auth is not None
    assert card.auth.tries_left == 3


def test_emigration_revokes_signing_and_keeps_auth(sim: Sim, add_person: Any) -> None:
    person = add_person()
    after = events.apply(sim, person["person_id"], "emigrate")
    assert _status(sim, person["sign_serial"]) == ("revoked", "affiliationChanged")
    assert after["auth_serial"] == person["auth_serial"]
    assert after["sign_serial"] is None


def test_death_revokes_both_and_ends_every_event(sim: Sim, add_person: Any) -> None:
    person = add_person()
    events.apply(sim, person["person_id"], "die")
    assert _status(sim, person["sign_serial"]) == ("revoked", "affiliationChanged")
    assert _status(sim, person["auth_serial"]) == ("revoked", "affiliationChanged")
    with pytest.raises(EventImpossibleError, match="deceased"):
        events.apply(sim, person["person_id"], "move", address="東京都港区1")


def test_finding_a_card_that_was_never_lost_is_refused(sim: Sim, add_person: Any) -> None:
    with pytest.raises(EventImpossibleError, match="not reported lost"):
        events.apply(sim, add_person()["person_id"], "found-card")


def test_an_unknown_person_is_refused(sim: Sim) -> None:
    with pytest.raises(UnknownPersonError):
        events.apply(sim, "p-nobody", "die")


def test_a_child_renewing_after_15_gets_a_signing_certificate(sim: Sim, add_person: Any,
                                                               clock: Any) -> None:
    child = add_person(birth=date(2012, 6, 1))
    events.apply(sim, child["person_id"], "move", address="東京都港区芝公園4-2-8")
    assert _record(sim, child["auth_serial"]).status == "valid"
    clock.moment = clock.moment.replace(year=2027, month=7)
    renewed = events.apply(sim, child["person_id"], "renew")
    assert renewed["sign_serial"] is not None
    assert renewed["sign_pin"] is not None


def test_phone_certificates_follow_4_info_changes_but_not_card_loss(
        sim: Sim, add_person: Any, tmp_path: Path) -> None:
    person = add_person(phone_file=tmp_path / "phone.json")
    phone_before = cardfile.load(tmp_path / "phone.json")
    events.apply(sim, person["person_id"], "lose-card")
    assert cardfile.load(tmp_path / "phone.json") == phone_before
    events.apply(sim, person["person_id"], "found-card")
    events.apply(sim, person["person_id"], "move", address="大阪府大阪市北区梅田1")
    phone_after = cardfile.load(tmp_path / "phone.json")
    assert phone_after.sign != phone_before.sign
    assert phone_after.auth == phone_before.auth
