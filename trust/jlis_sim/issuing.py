"""Issuing certificates with the real JPKI profile under a simulated CA named ``O=JPKI-SIM``.

Like J-LIS, each CA comes in generations that share one DN (the 2015/2019/2023 roots); a verifier
must pick the issuer by key, not by name. End-entity certificates carry what real ones carry
(subject, SAN otherNames with the 4 info, policy OID, key usage) plus, for the simulator only, a
CRL distribution point and an AIA with OCSP and caIssuers URLs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from idp.jpki.profile import (
    OID_ADDRESS,
    OID_ADDRESS_SUBSTITUTES,
    OID_BIRTH_DATE,
    OID_NAME,
    OID_NAME_SUBSTITUTES,
    OID_SEX,
    Basic4Info,
    Medium,
    Purpose,
    encode_birth_date,
)

SIM_ORGANIZATION = "JPKI-SIM"
_OU_BY_PURPOSE = {Purpose.SIGN: "JPKI for digital signature",
                  Purpose.AUTH: "JPKI for user authentication"}
_OU_AGENCY = "Japan Agency for Local Authority Information Systems"


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ca_name(purpose: Purpose, medium: Medium = Medium.CARD) -> x509.Name:
    """The DN shared by every generation of one simulated CA."""
    unit = _OU_BY_PURPOSE[purpose] + (" (smartphone)" if medium is Medium.PHONE else "")
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, SIM_ORGANIZATION),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, _OU_AGENCY),
    ])


@dataclass(frozen=True)
class CaGeneration:
    """One generation of a simulated JPKI CA: a self-signed root like J-LIS's."""

    purpose: Purpose
    medium: Medium
    label: str  # e.g. "2023"
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate


def new_ca(purpose: Purpose, label: str, not_before: datetime, not_after: datetime,
           medium: Medium = Medium.CARD, key: rsa.RSAPrivateKey | None = None) -> CaGeneration:
    key = key or new_rsa_key()
    name = ca_name(purpose, medium)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CaGeneration(purpose, medium, label, key, certificate)


@dataclass(frozen=True)
class SimUrls:
    """Where the simulator publishes status for a CA generation (simulator-only extensions)."""

    crl: str
    ocsp: str
    ca_issuers: str


def issue_sign_certificate(ca: CaGeneration, public_key: rsa.RSAPublicKey, *, serial: int,
                           info: Basic4Info, prefecture: str, city: str, subject_id: str,
                           not_before: datetime, not_after: datetime,
                           urls: SimUrls | None) -> x509.Certificate:
    """A 署名用電子証明書: subject C=JP, L=<pref>, L=<city>, CN=<opaque id>; 4 info in the SAN."""
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, prefecture),
        x509.NameAttribute(NameOID.LOCALITY_NAME, city),
        x509.NameAttribute(NameOID.COMMON_NAME, subject_id),
    ])
    san = x509.SubjectAlternativeName([
        _other_name(OID_NAME, info.name),
        _other_name(OID_NAME_SUBSTITUTES, info.name_substitutes),
        _other_name(OID_SEX, str(info.sex.value)),
        _other_name(OID_BIRTH_DATE, info.birth_date_code or encode_birth_date(_known(info))),
        _other_name(OID_ADDRESS, info.address),
        _other_name(OID_ADDRESS_SUBSTITUTES, info.address_substitutes),
    ])
    builder = _end_entity(ca, public_key, subject, serial, not_before, not_after, urls)
    builder = builder.add_extension(san, critical=False)
    builder = builder.add_extension(_key_usage(non_repudiation=True), critical=True)
    return builder.sign(ca.key, hashes.SHA256())


def issue_auth_certificate(ca: CaGeneration, public_key: rsa.RSAPublicKey, *, serial: int,
                           subject_id: str, not_before: datetime, not_after: datetime,
                           urls: SimUrls | None) -> x509.Certificate:
    """A 利用者証明用電子証明書: no personal data at all, only an opaque CN."""
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
        x509.NameAttribute(NameOID.COMMON_NAME, subject_id),
    ])
    builder = _end_entity(ca, public_key, subject, serial, not_before, not_after, urls)
    builder = builder.add_extension(_key_usage(), critical=True)
    return builder.sign(ca.key, hashes.SHA256())


def _end_entity(ca: CaGeneration, public_key: rsa.RSAPublicKey, subject: x509.Name, serial: int,
                not_before: datetime, not_after: datetime,
                urls: SimUrls | None) -> x509.CertificateBuilder:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(ca.certificate.subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.CertificatePolicies([
            x509.PolicyInformation(ca.purpose.policy_oid, None)]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca.key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if urls is not None:
        builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            [x509.UniformResourceIdentifier(urls.crl)], None, None, None)]), critical=False)
        builder = builder.add_extension(x509.AuthorityInformationAccess([
            x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                   x509.UniformResourceIdentifier(urls.ocsp)),
            x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS,
                                   x509.UniformResourceIdentifier(urls.ca_issuers)),
        ]), critical=False)
    return builder


def _other_name(oid: x509.ObjectIdentifier, text: str) -> x509.OtherName:
    return x509.OtherName(oid, _der_utf8_string(text))


def _der_utf8_string(text: str) -> bytes:
    """DER UTF8String (tag 0x0C) with a definite length."""
    body = text.encode("utf-8")
    if len(body) < 0x80:
        return bytes([0x0C, len(body)]) + body
    length = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return bytes([0x0C, 0x80 | len(length)]) + length + body


def _key_usage(*, cert_sign: bool = False, non_repudiation: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign, content_commitment=non_repudiation,
        key_encipherment=False, data_encipherment=False, key_agreement=False,
        key_cert_sign=cert_sign, crl_sign=cert_sign, encipher_only=False, decipher_only=False,
    )


def _known(info: Basic4Info) -> date:
    if info.birth_date is None:
        raise ValueError("a birth date or its code is required")
    return info.birth_date


def issue_ocsp_responder_certificate(ca: CaGeneration, public_key: rsa.RSAPublicKey, *,
                                     not_before: datetime,
                                     not_after: datetime) -> x509.Certificate:
    """A delegated OCSP responder (RFC 6960 §4.2.2.2): issued by the CA it answers for, with
    EKU id-kp-OCSPSigning, and id-pkix-ocsp-nocheck so verifiers do not ask about it (§4.2.2.2.1).
    """
    unit = f"OCSP responder {ca.purpose.value}-{ca.medium.value}-{ca.label}"
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, SIM_ORGANIZATION),
        x509.NameAttribute(NameOID.COMMON_NAME, unit),
    ])
    return (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(ca.certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.OCSP_SIGNING]),
                       critical=False)
        .add_extension(x509.OCSPNoCheck(), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca.key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
