"""Path validation: purpose, issuer by key among same-DN generations, validity, profile."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from idp.jpki.certificate import parse_certificate
from idp.jpki.errors import (
    AnchorExpiredError,
    CertificateExpiredError,
    CertificateNotYetValidError,
    InvalidCertificateError,
    IssuerKeyMismatchError,
    UnknownIssuerError,
    WrongPurposeError,
)
from idp.jpki.profile import Medium, Purpose
from idp.jpki.validation import verify_certificate
from tests.support import jpki_pki as pki
from trust.jlis_sim.issuing import new_ca

SIGN_A, SIGN_B = pki.ca(Purpose.SIGN, "2019"), pki.ca(Purpose.SIGN, "2023")
AUTH_A = pki.ca(Purpose.AUTH, "2023")
ANCHORS = pki.anchors(SIGN_A, SIGN_B, AUTH_A)


def _verify(certificate: x509.Certificate, purpose: Purpose = Purpose.SIGN,
            anchors: object = ANCHORS, at: object = pki.NOW) -> object:
    return verify_certificate(parse_certificate(pki.der(certificate)), expected_purpose=purpose,
                              anchors=anchors, at=at)  # type: ignore[arg-type]


def test_a_signing_certificate_validates_against_its_generation() -> None:
    verified = _verify(pki.sign_cert(SIGN_B))
    assert verified.anchor.certificate == SIGN_B.certificate  # type: ignore[attr-defined]


def test_each_of_two_generations_with_one_dn_validates_its_own_certificates() -> None:
    assert SIGN_A.certificate.subject == SIGN_B.certificate.subject
    for generation in (SIGN_A, SIGN_B):
        verified = _verify(pki.sign_cert(generation))
        assert verified.anchor.certificate == generation.certificate  # type: ignore[attr-defined]


def test_an_auth_certificate_validates_for_authentication() -> None:
    verified = _verify(pki.auth_cert(AUTH_A), Purpose.AUTH)
    assert verified.purpose is Purpose.AUTH  # type: ignore[attr-defined]


def test_an_auth_certificate_where_a_signing_one_is_needed_is_the_wrong_type() -> None:
    with pytest.raises(WrongPurposeError, match="needs the signing certificate") as raised:
        _verify(pki.auth_cert(AUTH_A), Purpose.SIGN)
    assert raised.value.status == 422


def test_a_ca_nobody_trusts_is_an_unknown_issuer() -> None:
    phone = pki.ca(Purpose.SIGN, medium=Medium.PHONE)
    with pytest.raises(UnknownIssuerError, match="no trusted sign CA"):
        _verify(pki.sign_cert(phone))


def test_the_same_dn_with_another_key_is_an_issuer_key_mismatch() -> None:
    impostor = new_ca(Purpose.SIGN, "2023", pki.CA_START, pki.CA_END, key=pki.key("impostor"))
    assert impostor.certificate.subject == SIGN_B.certificate.subject
    with pytest.raises(IssuerKeyMismatchError, match="none of the 2 trusted generation"):
        _verify(pki.sign_cert(impostor))


def test_a_generation_that_is_not_configured_is_refused_even_with_the_right_dn() -> None:
    with pytest.raises(IssuerKeyMismatchError):
        _verify(pki.sign_cert(SIGN_A), anchors=pki.anchors(SIGN_B))


def test_an_expired_certificate_is_refused_with_its_expiry_date() -> None:
    certificate = pki.sign_cert(SIGN_B, not_before=pki.NOW - timedelta(days=900),
                                not_after=pki.NOW - timedelta(days=1))
    with pytest.raises(CertificateExpiredError, match="renew it") as raised:
        _verify(certificate)
    assert raised.value.code == "certificate_expired"


def test_a_certificate_not_yet_valid_is_refused() -> None:
    certificate = pki.sign_cert(SIGN_B, not_before=pki.NOW + timedelta(days=1))
    with pytest.raises(CertificateNotYetValidError, match="check the clock"):
        _verify(certificate)


def test_an_expired_ca_generation_is_refused() -> None:
    with pytest.raises(AnchorExpiredError, match="issuing CA"):
        _verify(pki.sign_cert(SIGN_B, not_after=pki.CA_END + timedelta(days=10)),
                at=pki.CA_END + timedelta(days=1))


def _end_entity(issuer: object, *, ca: bool = False, usage: x509.KeyUsage | None = None,
                extra: x509.ExtensionType | None = None) -> x509.Certificate:
    generation = SIGN_B
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "X")]))
               .issuer_name(generation.certificate.subject)
               .public_key(pki.key("holder-sign").public_key()).serial_number(77)
               .not_valid_before(pki.CA_START).not_valid_after(pki.CA_END)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.CertificatePolicies([x509.PolicyInformation(
                   Purpose.AUTH.policy_oid, None)]), critical=False))
    if usage is not None:
        builder = builder.add_extension(usage, critical=True)
    if extra is not None:
        builder = builder.add_extension(extra, critical=True)
    return builder.sign(generation.key, hashes.SHA256())


def _usage(**flags: bool) -> x509.KeyUsage:
    names = ["digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"]
    return x509.KeyUsage(**{name: flags.get(name, False) for name in names})


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"ca": True, "usage": _usage(digital_signature=True)}, "CA certificate"),
    ({"usage": None}, "no key usage"),
    ({"usage": _usage(key_encipherment=True)}, "key usage does not fit"),
    ({"usage": _usage(digital_signature=True),
      "extra": x509.InhibitAnyPolicy(0)}, "unsupported critical"),
])
def test_profile_violations_are_invalid_certificates(kwargs: dict[str, object],
                                                     message: str) -> None:
    anchors = pki.anchors(SIGN_B)
    auth_anchors = type(anchors).of(Purpose.AUTH, [SIGN_B.certificate])
    with pytest.raises(InvalidCertificateError, match=message):
        _verify(_end_entity(SIGN_B, **kwargs), Purpose.AUTH, anchors=auth_anchors)  # type: ignore[arg-type]
