"""Verifying what a card signed: RSASSA-PKCS1-v1_5 over DigestInfo(SHA-256, SHA-256(data)).

The JPKI application signs a DigestInfo the host computes (the card does not hash), so
``digest_info_sha256`` is what a card app sends to COMPUTE DIGITAL SIGNATURE. Acceptance is
decided by ``cryptography`` alone; only a failed signature is opened with the public key to tell
the person *why* (RFC 8017 §8.2.2, §9.2): a valid PKCS#1 v1.5 block over another digest means the
card app hashed the wrong thing, anything else means the wrong key or a corrupted signature.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from idp.jpki.certificate import JpkiCertificate
from idp.jpki.errors import BadSignatureError, WrongDigestError

# DER of DigestInfo's AlgorithmIdentifier prefix for SHA-256 (RFC 8017 §9.2 note 1).
SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")
_KNOWN_PREFIXES = {
    bytes.fromhex("3021300906052b0e03021a05000414"): "SHA-1",
    bytes.fromhex("3041300d060960864801650304020205000430"): "SHA-384",
    bytes.fromhex("3051300d060960864801650304020305000440"): "SHA-512",
    SHA256_DIGEST_INFO_PREFIX: "SHA-256",
}


def digest_info_sha256(data: bytes) -> bytes:
    """DigestInfo(SHA-256, SHA-256(data)): the 51 bytes the card is asked to sign."""
    return SHA256_DIGEST_INFO_PREFIX + hashlib.sha256(data).digest()


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """A signature that ``certificate``'s key made over ``to_be_signed``."""

    certificate: JpkiCertificate
    to_be_signed: bytes


def verify_card_signature(certificate: JpkiCertificate, signature: bytes,
                          to_be_signed: bytes) -> VerifiedSignature:
    """Raise BadSignatureError/WrongDigestError unless the card signed ``to_be_signed``."""
    key = certificate.public_key
    try:
        key.verify(signature, to_be_signed, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise _diagnose(certificate, signature, to_be_signed) from None
    return VerifiedSignature(certificate, to_be_signed)


def _diagnose(certificate: JpkiCertificate, signature: bytes,
              to_be_signed: bytes) -> BadSignatureError:
    numbers = certificate.public_key.public_numbers()
    size = (numbers.n.bit_length() + 7) // 8
    value = int.from_bytes(signature, "big")
    if len(signature) != size:
        return BadSignatureError(f"the signature is {len(signature)} bytes; this certificate's key "
                                 f"makes {size}-byte signatures (was it made by another card?)")
    # A value at or above the modulus cannot come from this key (RFC 8017 §5.2.2), but is
    # what another card's key of the same size makes about half the time.
    payload = None if value >= numbers.n else _pkcs1_payload(
        pow(value, numbers.e, numbers.n).to_bytes(size, "big"))
    if payload is None:
        return BadSignatureError("the signature was not made with this certificate's key; sign "
                                 "with the same card the certificate was read from")
    if payload == hashlib.sha256(to_be_signed).digest():
        return WrongDigestError("the card signed the bare SHA-256 hash; the card app must sign "
                                "DigestInfo(SHA-256, hash)")
    for prefix, name in _KNOWN_PREFIXES.items():
        if payload.startswith(prefix) and name != "SHA-256":
            return WrongDigestError(f"the card signed a {name} digest; the card app must sign "
                                    "DigestInfo(SHA-256, SHA-256(to_be_signed))")
    return WrongDigestError("the card signed another message; sign this request's to_be_signed "
                            "(a signature for another request or purpose is refused)")


def _pkcs1_payload(block: bytes) -> bytes | None:
    """The payload of an EMSA-PKCS1-v1_5 block 00 01 FF..FF 00 T, or None if not one."""
    if not block.startswith(b"\x00\x01"):
        return None
    end = block.find(b"\x00", 2)
    if end < 10 or block[2:end] != b"\xff" * (end - 2):  # at least 8 bytes of FF
        return None
    return block[end + 1:]
