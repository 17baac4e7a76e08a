"""The bank's own check of a card signature returned by the IdP (RFC 9396 ``jpki_signature``).

The IdP's token response carries, for a document the person signed with the signing
certificate of their My Number Card, ``to_be_signed`` (the exact bytes the card signed),
``signature``, ``certificate``, ``signed_at`` and the certificate's revocation ``status`` at
that moment (docs/api.md, *Signing a document with the card*). The bank trusts none of it
blindly: it checks that the signed frame is this IdP's, for the purpose ``sign``, that its last
line is the SHA-256 of exactly the text the bank sent, that the signature verifies with the
certificate's RSA key (PKCS#1 v1.5, SHA-256), that the certificate is a JPKI signing
certificate (issued by one of the J-LIS signing CAs it was given, when it was given any) and
that the status was ``good`` — ``unknown`` is weighed as unknown, never as good.

:func:`verify_signed_document` raises :class:`SignatureRefused` (with a reason code and the
words to show in Japanese and English) or returns a frozen :class:`VerifiedSignature`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

DETAIL_TYPE = "jpki_signature"
FRAME = "jpki-idp/1"  # the first line of every card request text (contract.md)
PURPOSE = "sign"
# The JPKI profile: the signing certificate's policy, and the 4 info's name in its
# subjectAltName as an otherName DER UTF8String (公的個人認証サービス 証明書プロファイル).
POLICY_SIGN = x509.ObjectIdentifier("1.2.392.200149.8.5.1.1.20")
OID_NAME = x509.ObjectIdentifier("1.2.392.200149.8.5.5.1")
OID_ADDRESS = x509.ObjectIdentifier("1.2.392.200149.8.5.5.5")

REASONS: dict[str, tuple[str, str]] = {
    "malformed": ("署名データの形式が正しくありません。",
                  "The signature data is malformed."),
    "wrong_document": ("署名された文書が、当行がお送りした振込内容と一致しません。",
                       "The signed document is not the transfer text the bank sent."),
    "wrong_frame": ("署名された内容が、IdPの署名要求の形式ではありません。",
                    "What was signed is not a signing request of the IdP."),
    "wrong_issuer": ("署名要求が、当行の利用するIdP以外から出されています。",
                     "The signing request was made by another identity provider."),
    "wrong_purpose": ("署名が文書への署名（sign）のために作られていません。",
                      "The signature was not made for signing a document (purpose sign)."),
    "wrong_digest": ("署名された内容の最終行が、振込内容のハッシュ値と一致しません。",
                     "The last line of what was signed is not the hash of the transfer text."),
    "not_sign_certificate": ("署名に使われた証明書が、マイナンバーカードの署名用電子証明書では"
                             "ありません。",
                             "The certificate is not a My Number Card signing certificate."),
    "untrusted_issuer": ("証明書が、当行の信頼するJ-LISの認証局から発行されていません。",
                         "The certificate was not issued by a J-LIS CA the bank trusts."),
    "bad_signature": ("署名が証明書の公開鍵で検証できません。",
                      "The signature does not verify with the certificate's key."),
    "status_not_good": ("署名の時点で、証明書が有効であると確認できていません。",
                        "The certificate was not confirmed valid when it signed."),
}


class SignatureRefused(Exception):  # noqa: N818  (a refusal the page shows, not a bug)
    """The returned signature cannot approve the transfer; ``reason`` is one of REASONS."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail

    def message(self, lang: str) -> str:
        ja, en = REASONS[self.reason]
        return ja if lang == "ja" else en


@dataclass(frozen=True)
class VerifiedSignature:
    """A card signature the bank checked itself, over exactly the text it sent."""

    text: str
    signer_name: str
    signer_address: str
    certificate_serial: str  # lower-case hex, as J-LIS and the IdP name serials
    certificate_issuer: str  # RFC 4514
    request_id: str
    signed_at: str
    status: str


def verify_signed_document(detail: Mapping[str, Any], *, expected_text: str,
                           expected_issuer: str,
                           trusted_cas: Sequence[x509.Certificate] = ()) -> VerifiedSignature:
    """Check one ``authorization_details`` entry of the token response; raise
    :class:`SignatureRefused` with the first reason it cannot approve the transfer."""
    if detail.get("type") != DETAIL_TYPE or not isinstance(detail.get("document"), Mapping):
        raise SignatureRefused("malformed", "not a jpki_signature detail with a document")
    if detail["document"].get("text") != expected_text:
        raise SignatureRefused("wrong_document")
    signed = _b64(detail.get("to_be_signed"), urlsafe=True)
    request_id = _check_frame(signed, expected_text, expected_issuer)
    certificate = _certificate(detail.get("certificate"))
    _check_issuer(certificate, trusted_cas)
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureRefused("not_sign_certificate", "not an RSA key")
    try:
        key.verify(_b64(detail.get("signature")), signed, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as error:
        raise SignatureRefused("bad_signature") from error
    if detail.get("status") != "good":
        raise SignatureRefused("status_not_good", str(detail.get("status"))[:32])
    return VerifiedSignature(
        text=expected_text, signer_name=_other_name(certificate, OID_NAME),
        signer_address=_other_name(certificate, OID_ADDRESS),
        certificate_serial=format(certificate.serial_number, "x"),
        certificate_issuer=certificate.issuer.rfc4514_string(), request_id=request_id,
        signed_at=str(detail.get("signed_at", "")), status="good")


def _check_frame(signed: bytes, text: str, issuer: str) -> str:
    """``jpki-idp/1 / issuer / sign / request id / nonce / sha256(text)``: the request id."""
    try:
        lines = signed.decode("utf-8").split("\n")
    except UnicodeDecodeError as error:
        raise SignatureRefused("wrong_frame", "not UTF-8") from error
    if len(lines) != 6 or lines[0] != FRAME:
        raise SignatureRefused("wrong_frame")
    if lines[1] != issuer:
        raise SignatureRefused("wrong_issuer", lines[1][:200])
    if lines[2] != PURPOSE:
        raise SignatureRefused("wrong_purpose", lines[2][:32])
    if lines[5] != hashlib.sha256(text.encode("utf-8")).hexdigest():
        raise SignatureRefused("wrong_digest")
    return lines[3]


def _certificate(value: Any) -> x509.Certificate:
    try:
        certificate = x509.load_der_x509_certificate(_b64(value))
        policies = certificate.extensions.get_extension_for_class(x509.CertificatePolicies)
    except x509.ExtensionNotFound as error:
        raise SignatureRefused("not_sign_certificate", "no certificate policies") from error
    except ValueError as error:
        raise SignatureRefused("malformed", "the certificate is not DER") from error
    if POLICY_SIGN not in {policy.policy_identifier for policy in policies.value}:
        raise SignatureRefused("not_sign_certificate")
    return certificate


def _check_issuer(certificate: x509.Certificate, cas: Sequence[x509.Certificate]) -> None:
    """Issued by one of ``cas`` (the J-LIS signing CAs), when the bank was given some."""
    if not cas:
        return
    for ca in cas:
        try:
            certificate.verify_directly_issued_by(ca)
        except (ValueError, TypeError, InvalidSignature):  # another name, key or signature
            continue
        return
    raise SignatureRefused("untrusted_issuer", certificate.issuer.rfc4514_string())


def _b64(value: Any, *, urlsafe: bool = False) -> bytes:
    if not isinstance(value, str) or not value:
        raise SignatureRefused("malformed", "a base64 member is missing")
    try:
        padded = value + "=" * (-len(value) % 4)
        return (base64.urlsafe_b64decode(padded) if urlsafe
                else base64.b64decode(padded, validate=True))
    except (binascii.Error, ValueError) as error:
        raise SignatureRefused("malformed", "not base64") from error


def _other_name(certificate: x509.Certificate, oid: x509.ObjectIdentifier) -> str:
    """One 4-info field (a DER UTF8String otherName); empty when absent or unreadable."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ""
    for other in san.value.get_values_for_type(x509.OtherName):
        if other.type_id == oid:
            return _utf8_string(other.value)
    return ""


def _utf8_string(der: bytes) -> str:
    if len(der) < 2 or der[0] != 0x0C:
        return ""
    length, offset = der[1], 2
    if length & 0x80:
        size = length & 0x7F
        length, offset = int.from_bytes(der[2:2 + size], "big"), 2 + size
    if len(der) != offset + length:
        return ""
    return der[offset:].decode("utf-8", errors="replace")
