"""Parsing a JPKI end-entity certificate into a frozen value.

What is read (J-LIS certificate profile, restated in ``docs/trust-core.md``):
- purpose from the certificate policy OID (…8.1.1.20 signing, …8.1.3.30 user authentication);
- medium from the issuer: a CA whose organizational unit says "(smartphone)" issues
  スマホ用電子証明書. The real smartphone profile is not public; this marker is the simulator's
  and an assumption;
- for signing certificates the basic 4 info from the subjectAltName otherNames
  1.2.392.200149.8.5.5.1–6, each a DER UTF8String, decoded by a small strict parser below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtensionOID, NameOID

from idp.jpki.errors import (
    InvalidCertificateError,
    MalformedCertificateError,
    NotJpkiCertificateError,
)
from idp.jpki.profile import (
    OID_ADDRESS,
    OID_ADDRESS_SUBSTITUTES,
    OID_BIRTH_DATE,
    OID_NAME,
    OID_NAME_SUBSTITUTES,
    OID_SEX,
    Basic4Info,
    BirthDateFormatError,
    Medium,
    Purpose,
    Sex,
    decode_birth_date,
)

PHONE_CA_MARKER = "(smartphone)"


@dataclass(frozen=True, slots=True)
class JpkiCertificate:
    """A JPKI certificate as read from a card: purpose, medium, serial, issuer, validity, 4 info."""

    der: bytes
    certificate: x509.Certificate
    purpose: Purpose
    medium: Medium
    serial: int
    issuer: x509.Name
    authority_key_id: bytes | None
    not_before: datetime
    not_after: datetime
    subject_common_name: str
    basic4: Basic4Info | None  # only signing certificates carry the 4 info

    @property
    def serial_hex(self) -> str:
        """The serial as the J-LIS API names it: lower-case hex without ``0x``."""
        return f"{self.serial:x}"

    @property
    def issuer_dn(self) -> str:
        return self.issuer.rfc4514_string()

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        key = self.certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):  # checked by parse_certificate
            raise InvalidCertificateError("the certificate key is not RSA")
        return key


def parse_certificate(der: bytes) -> JpkiCertificate:
    """Parse DER bytes from a card; raise a :class:`JpkiError` subclass if it is not JPKI."""
    try:
        certificate = x509.load_der_x509_certificate(der)
        extensions = certificate.extensions
    except ValueError as exc:
        raise MalformedCertificateError(f"the certificate is not valid DER X.509 ({exc}); read it "
                                        "again from the card") from exc
    purpose = _purpose(extensions)
    if not isinstance(certificate.public_key(), rsa.RSAPublicKey):
        raise InvalidCertificateError("the certificate key is not RSA as JPKI requires")
    return JpkiCertificate(
        der=bytes(der),
        certificate=certificate,
        purpose=purpose,
        medium=medium_of(certificate.issuer),
        serial=certificate.serial_number,
        issuer=certificate.issuer,
        authority_key_id=_authority_key_id(extensions),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        subject_common_name=_common_name(certificate.subject),
        basic4=_basic4(extensions) if purpose is Purpose.SIGN else None,
    )


def medium_of(issuer: x509.Name) -> Medium:
    units = issuer.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    phone = any(PHONE_CA_MARKER in str(unit.value) for unit in units)
    return Medium.PHONE if phone else Medium.CARD


def _purpose(extensions: x509.Extensions) -> Purpose:
    try:
        policies = extensions.get_extension_for_class(x509.CertificatePolicies).value
    except x509.ExtensionNotFound:
        policies = x509.CertificatePolicies([])
    found = {info.policy_identifier for info in policies}
    purposes = [purpose for purpose in Purpose if purpose.policy_oid in found]
    if len(purposes) != 1:
        raise NotJpkiCertificateError(
            "the certificate carries no single JPKI policy (signing 1.2.392.200149.8.5.1.1.20 "
            "or user authentication 1.2.392.200149.8.5.1.3.30); use a My Number Card certificate")
    return purposes[0]


def _authority_key_id(extensions: x509.Extensions) -> bytes | None:
    try:
        return extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except x509.ExtensionNotFound:
        return None


def _common_name(name: x509.Name) -> str:
    names = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def _basic4(extensions: x509.Extensions) -> Basic4Info:
    """The 4 info of a signing certificate; every field is mandatory, substitutes may be empty."""
    try:
        san = extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound as exc:
        raise InvalidCertificateError("the signing certificate carries no basic 4 info") from exc
    others = san.get_values_for_type(x509.OtherName) if isinstance(
        san, x509.SubjectAlternativeName) else []
    fields = {other.type_id: decode_utf8_string(other.value) for other in others}
    missing = [oid.dotted_string for oid in (OID_NAME, OID_SEX, OID_BIRTH_DATE, OID_ADDRESS)
               if oid not in fields]
    if missing:
        raise InvalidCertificateError(f"the signing certificate lacks 4-info fields {missing}")
    try:
        _era, born = decode_birth_date(fields[OID_BIRTH_DATE])
        sex = Sex(int(fields[OID_SEX]))
    except (BirthDateFormatError, ValueError) as exc:
        raise InvalidCertificateError(
            f"the signing certificate's 4 info is malformed: {exc}") from exc
    return Basic4Info(
        name=fields[OID_NAME], birth_date=born, sex=sex, address=fields[OID_ADDRESS],
        birth_date_code=fields[OID_BIRTH_DATE],
        name_substitutes=fields.get(OID_NAME_SUBSTITUTES, ""),
        address_substitutes=fields.get(OID_ADDRESS_SUBSTITUTES, ""),
    )


def decode_utf8_string(der: bytes) -> str:
    """Decode exactly one DER UTF8String (tag 0x0C, definite minimal length, nothing after)."""
    if len(der) < 2 or der[0] != 0x0C:
        raise InvalidCertificateError("a 4-info field is not a DER UTF8String")
    length, offset = der[1], 2
    if length & 0x80:
        size = length & 0x7F
        if size == 0 or size > 4 or len(der) < 2 + size or der[2] == 0:
            raise InvalidCertificateError("a 4-info field has a bad DER length")
        length, offset = int.from_bytes(der[2:2 + size], "big"), 2 + size
        if length < 0x80:
            raise InvalidCertificateError("a 4-info field has a non-minimal DER length")
    if len(der) != offset + length:
        raise InvalidCertificateError("a 4-info field's DER length does not match its content")
    try:
        return der[offset:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidCertificateError("a 4-info field is not valid UTF-8") from exc

