"""Card signatures: PKCS#1 v1.5 over DigestInfo(SHA-256, SHA-256(to_be_signed))."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from idp.jpki.certificate import parse_certificate
from idp.jpki.errors import BadSignatureError, WrongDigestError
from idp.jpki.signature import digest_info_sha256, verify_card_signature
from tests.support import jpki_pki as pki

TBS = b"jpki-idp/1\nhttp://idp.example\nlogin\nreq-1\nnonce"
CERT = parse_certificate(pki.der(pki.auth_cert()))
KEY = pki.key("holder-auth")


def _card_sign(message: bytes) -> bytes:
    """What the card does: RSA with PKCS#1 v1.5 padding over a host-supplied DigestInfo."""
    return KEY.sign(message, padding.PKCS1v15(), hashes.SHA256())


def test_digest_info_is_the_der_sha256_prefix_and_the_hash() -> None:
    info = digest_info_sha256(TBS)
    assert len(info) == 51
    assert info.endswith(hashlib.sha256(TBS).digest())


def test_a_card_signature_over_the_request_verifies() -> None:
    verified = verify_card_signature(CERT, _card_sign(TBS), TBS)
    assert verified.to_be_signed == TBS


def test_a_signature_by_another_key_is_a_bad_signature() -> None:
    other = pki.key("someone-else").sign(TBS, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(BadSignatureError, match="same card") as raised:
        verify_card_signature(CERT, other, TBS)
    assert not isinstance(raised.value, WrongDigestError)


def test_a_signature_value_above_the_modulus_is_from_another_key() -> None:
    # Another card's key of the same size makes such values about half the time.
    modulus = CERT.public_key.public_numbers().n
    with pytest.raises(BadSignatureError, match="same card"):
        verify_card_signature(CERT, (modulus + 1).to_bytes(256, "big"), TBS)


def test_a_truncated_signature_is_a_bad_signature() -> None:
    with pytest.raises(BadSignatureError, match="256-byte"):
        verify_card_signature(CERT, _card_sign(TBS)[:-1], TBS)


def test_a_signature_over_another_request_is_a_wrong_digest() -> None:
    with pytest.raises(WrongDigestError, match="another message"):
        verify_card_signature(CERT, _card_sign(b"another request"), TBS)


def test_a_sha1_digest_is_a_wrong_digest() -> None:
    signature = KEY.sign(TBS, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
    with pytest.raises(WrongDigestError, match="SHA-1"):
        verify_card_signature(CERT, signature, TBS)


def test_a_bare_hash_without_digest_info_is_a_wrong_digest() -> None:
    # A card app that skipped the DigestInfo: PKCS#1 v1.5 padding straight over the hash.
    numbers = KEY.private_numbers()
    block = b"\x00\x01" + b"\xff" * (256 - 3 - 32) + b"\x00" + hashlib.sha256(TBS).digest()
    raw = pow(int.from_bytes(block, "big"), numbers.d, numbers.public_numbers.n)
    with pytest.raises(WrongDigestError, match="bare SHA-256"):
        verify_card_signature(CERT, raw.to_bytes(256, "big"), TBS)
