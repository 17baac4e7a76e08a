"""Parsing JPKI certificates: purpose, medium, serial, issuer, validity and the 4 info."""

from __future__ import annotations

from datetime import date

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from idp.jpki.certificate import decode_utf8_string, parse_certificate
from idp.jpki.errors import (
    InvalidCertificateError,
    MalformedCertificateError,
    NotJpkiCertificateError,
)
from idp.jpki.profile import (
    Basic4Info,
    BirthDateFormatError,
    Era,
    Medium,
    Purpose,
    Sex,
    decode_birth_date,
)
from tests.support import jpki_pki as pki


def test_a_signing_certificate_yields_purpose_serial_issuer_validity_and_4_info() -> None:
    parsed = parse_certificate(pki.der(pki.sign_cert(serial=0xABC)))
    assert parsed.purpose is Purpose.SIGN
    assert parsed.medium is Medium.CARD
    assert parsed.serial_hex == "abc"
    assert "O=JPKI-SIM" in parsed.issuer_dn
    assert parsed.not_before < pki.NOW < parsed.not_after
    assert parsed.basic4 == Basic4Info(
        name="山田　花子", birth_date=date(1980, 2, 17), sex=Sex.FEMALE,
        address="東京都千代田区霞が関二丁目1番2号", birth_date_code="319800217")


def test_an_auth_certificate_carries_no_personal_data() -> None:
    parsed = parse_certificate(pki.der(pki.auth_cert()))
    assert parsed.purpose is Purpose.AUTH
    assert parsed.basic4 is None
    assert parsed.authority_key_id is not None


def test_a_phone_certificate_is_recognised_by_its_ca() -> None:
    phone_ca = pki.ca(Purpose.AUTH, medium=Medium.PHONE)
    assert parse_certificate(pki.der(pki.auth_cert(phone_ca))).medium is Medium.PHONE


def test_substitute_character_flags_and_era_codes_are_kept() -> None:
    info = Basic4Info(name="髙橋　𠮷男", birth_date=None, sex=Sex.MALE,
                      address="大阪府大阪市北区", birth_date_code="400000000",
                      name_substitutes="1,4", address_substitutes="3")
    basic4 = parse_certificate(pki.der(pki.sign_cert(info=info))).basic4
    assert basic4 is not None
    assert basic4.name == "髙橋　𠮷男"
    assert (basic4.name_substitutes, basic4.address_substitutes) == ("1,4", "3")
    assert basic4.has_substitutes
    assert basic4.birth_date is None  # 不詳: unknown dates decode to None, the code stays
    assert basic4.birth_date_code[0] == str(Era.HEISEI.value)


def test_a_long_address_uses_a_long_form_der_length() -> None:
    info = Basic4Info(name="山田　太郎", birth_date=date(2001, 1, 1), sex=Sex.MALE,
                      address="北海道" + "札幌市中央区" * 20)
    basic4 = parse_certificate(pki.der(pki.sign_cert(info=info))).basic4
    assert basic4 is not None
    assert basic4.address == info.address


@pytest.mark.parametrize("data", [b"", b"\x30\x03\x02\x01", b"not a certificate at all"])
def test_malformed_der_is_refused_with_advice_to_read_the_card_again(data: bytes) -> None:
    with pytest.raises(MalformedCertificateError, match="read it again"):
        parse_certificate(data)


def test_a_certificate_without_a_jpki_policy_is_not_jpki() -> None:
    issuer = pki.ca(Purpose.SIGN)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "web server")])
    certificate = (x509.CertificateBuilder().subject_name(name)
                   .issuer_name(issuer.certificate.subject)
                   .public_key(pki.key("holder-sign").public_key()).serial_number(5)
                   .not_valid_before(pki.CA_START).not_valid_after(pki.CA_END)
                   .sign(issuer.key, hashes.SHA256()))
    with pytest.raises(NotJpkiCertificateError, match="My Number Card"):
        parse_certificate(pki.der(certificate))


def test_a_signing_certificate_with_a_bad_sex_code_is_refused() -> None:
    info = Basic4Info(name="山田　花子", birth_date=None, sex=Sex.FEMALE, address="東京都",
                      birth_date_code="9ABCDEFGH")
    with pytest.raises(InvalidCertificateError, match="4 info is malformed"):
        parse_certificate(pki.der(pki.sign_cert(info=info)))


@pytest.mark.parametrize("data", [
    b"\x04\x01a",  # OCTET STRING, not UTF8String
    b"\x0c\x02a",  # length beyond the content
    b"\x0c\x81\x01a",  # non-minimal long form
    b"\x0c\x01\xff",  # not UTF-8
    b"\x0c\x01ab",  # trailing bytes
])
def test_the_utf8string_parser_is_strict(data: bytes) -> None:
    with pytest.raises(InvalidCertificateError):
        decode_utf8_string(data)


def test_the_utf8string_parser_reads_short_and_long_forms() -> None:
    assert decode_utf8_string(b"\x0c\x00") == ""
    assert decode_utf8_string(b"\x0c\x81\x80" + b"a" * 128) == "a" * 128


@pytest.mark.parametrize("code", ["31980021", "319800217x", "3198002١7", "31980021²"])
def test_a_birth_date_code_that_is_not_nine_ascii_digits_is_refused(code: str) -> None:
    with pytest.raises(BirthDateFormatError):
        decode_birth_date(code)
