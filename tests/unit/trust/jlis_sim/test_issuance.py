"""Simulated certificates follow the JPKI profile (subject, SAN 4 info, policy, key usage,
validity) under CA generations that share one DN."""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from idp.jpki.profile import (
    OID_ADDRESS,
    OID_BIRTH_DATE,
    OID_NAME,
    OID_SEX,
    POLICY_AUTH,
    POLICY_SIGN,
    TOKEN_CARD,
    TOKEN_PHONE,
)
from trust import cardfile
from trust.jlis_sim import ca
from trust.jlis_sim.issuance import card_expiry, nth_birthday_after
from trust.jlis_sim.store import Sim


def _certificate(card: Path, slot: str) -> x509.Certificate:
    data = json.loads(card.read_text())
    return x509.load_der_x509_certificate(base64.b64decode(data[slot]["certificate"]))


def _san(certificate: x509.Certificate) -> dict[str, str]:
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    values = {}
    for other in names.get_values_for_type(x509.OtherName):
        assert other.value[0] == 0x0C  # UTF8String
        values[other.type_id.dotted_string] = other.value[2:].decode()
    return values


def test_the_signing_certificate_carries_the_4_info_in_the_san(add_person: Any) -> None:
    person = add_person()
    san = _san(_certificate(Path(person["card_file"]), "sign"))
    assert san[OID_NAME.dotted_string] == "山田\u3000太郎"
    assert san[OID_SEX.dotted_string] == "1"
    assert san[OID_BIRTH_DATE.dotted_string] == "319800217"  # Showa, then the Gregorian date
    assert san[OID_ADDRESS.dotted_string] == "東京都千代田区永田町1-7-1"


def test_the_signing_subject_names_prefecture_and_city_and_an_opaque_id(add_person: Any) -> None:
    certificate = _certificate(Path(add_person()["card_file"]), "sign")
    subject = certificate.subject
    assert [a.value for a in subject.get_attributes_for_oid(NameOID.LOCALITY_NAME)] == \
        ["東京都", "千代田区"]
    assert subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "JP"
    assert "山田" not in subject.rfc4514_string()


def test_policies_key_usage_and_urls_per_purpose(add_person: Any) -> None:
    card = Path(add_person()["card_file"])
    sign, auth = _certificate(card, "sign"), _certificate(card, "auth")
    policy = x509.CertificatePolicies
    assert sign.extensions.get_extension_for_class(policy).value[0].policy_identifier == \
        POLICY_SIGN
    assert auth.extensions.get_extension_for_class(policy).value[0].policy_identifier == \
        POLICY_AUTH
    assert sign.extensions.get_extension_for_class(x509.KeyUsage).value.content_commitment
    assert not auth.extensions.get_extension_for_class(x509.KeyUsage).value.content_commitment
    aia = auth.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert {d.access_method for d in aia} == {AuthorityInformationAccessOID.OCSP,
                                              AuthorityInformationAccessOID.CA_ISSUERS}
    dp = auth.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert dp[0].full_name[0].value == "http://sim.test/v1/crl/auth-card-2023"


def test_the_auth_certificate_carries_no_personal_data(add_person: Any) -> None:
    auth = _certificate(Path(add_person()["card_file"]), "auth")
    assert not auth.subject.get_attributes_for_oid(NameOID.LOCALITY_NAME)
    assert not any(isinstance(e.value, x509.SubjectAlternativeName) for e in auth.extensions)


def test_certificates_run_to_the_fifth_birthday_after_issue(add_person: Any) -> None:
    # issued 2026-04-01 (clock), born 17 February: the 5th birthday after issue is 2031-02-17
    card = Path(add_person()["card_file"])
    for slot in ("sign", "auth"):
        assert _certificate(card, slot).not_valid_after_utc.date() == date(2031, 2, 17)


def test_a_child_gets_no_signing_certificate_and_a_five_year_card(add_person: Any) -> None:
    child = add_person(birth=date(2012, 6, 1), name="山田 花子")
    assert child["sign_serial"] is None
    assert child["sign_pin"] is None
    assert cardfile.load(Path(child["card_file"])).sign is None
    assert card_expiry(date(2012, 6, 1), date(2026, 4, 1)) == date(2030, 6, 1)  # 5th birthday


def test_fifteen_on_the_day_of_issue_gets_a_signing_certificate(add_person: Any) -> None:
    assert add_person(birth=date(2011, 4, 1))["sign_serial"] is not None
    assert add_person(birth=date(2011, 4, 3), name="次 郎")["sign_serial"] is None


def test_leap_day_birthdays_fall_on_28_february() -> None:
    assert nth_birthday_after(date(2000, 2, 29), date(2026, 4, 1), 5) == date(2031, 2, 28)
    assert nth_birthday_after(date(1980, 2, 17), date(2026, 2, 17), 1) == date(2027, 2, 17)


def test_serials_are_positive_and_at_most_159_bits(add_person: Any) -> None:
    person = add_person()
    for serial in (person["sign_serial"], person["auth_serial"]):
        assert 0 < int(serial, 16) < 2**159
        assert serial == serial.lower()


def test_two_card_generations_share_one_dn_with_different_keys(sim: Sim) -> None:
    with sim.transaction() as session:
        old = ca.load(ca.get(session, "sign-card-2019")).generation.certificate
        new = ca.load(ca.get(session, "sign-card-2023")).generation.certificate
    assert old.subject == new.subject
    assert old.public_key() != new.public_key()
    assert old.signature_hash_algorithm is not None
    assert old.signature_hash_algorithm.name == "sha256"
    assert new.public_key().key_size == 2048


def test_an_older_generation_can_be_asked_for_and_the_aki_names_it(add_person: Any,
                                                                    sim: Sim) -> None:
    person = add_person(ca_label="2019")
    certificate = _certificate(Path(person["card_file"]), "sign")
    with sim.transaction() as session:
        key_id = ca.get(session, "sign-card-2019").key_id
    aki = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier is not None
    assert aki.key_identifier.hex() == key_id


def test_a_phone_holds_its_own_certificates_under_the_phone_ca(add_person: Any,
                                                               tmp_path: Path) -> None:
    person = add_person(phone_file=tmp_path / "phone.json")
    phone = cardfile.load(tmp_path / "phone.json")
    card = cardfile.load(Path(person["card_file"]))
    assert (phone.token, card.token) == (TOKEN_PHONE, TOKEN_CARD)
    assert phone.sign is not None
    assert card.sign is not None
    phone_cert = x509.load_der_x509_certificate(phone.sign.certificate)
    assert format(phone_cert.serial_number, "x") != person["sign_serial"]
    assert "smartphone" in phone_cert.issuer.rfc4514_string()
