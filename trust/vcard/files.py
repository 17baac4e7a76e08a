"""What the virtual chip holds, derived from the card file: binary EFs and the raw RSA key."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from idp.card.apdu import EF, TOKEN_LENGTH
from trust.cardfile import CardFile, KeySlot

Slot = KeySlot


def token_bytes(token: str) -> bytes:
    """EF 0006: the token label, space padded to its fixed length."""
    return token.encode("ascii").ljust(TOKEN_LENGTH, b" ")


def binary_files(card: CardFile) -> dict[int, bytes]:
    """The transparent EFs of the JPKI application (absent key pairs have no files)."""
    files = {EF.TOKEN.value: token_bytes(card.token)}
    if card.sign is not None:
        files[EF.SIGN_CERT] = card.sign.certificate
        files[EF.SIGN_CA_CERT] = card.sign.ca_certificate
    if card.auth is not None:
        files[EF.AUTH_CERT] = card.auth.certificate
        files[EF.AUTH_CA_CERT] = card.auth.ca_certificate
    return files


def pkcs1_sign(slot: KeySlot, digest_info: bytes) -> bytes | None:
    """What the chip does: EMSA-PKCS1-v1_5 padding of the given DigestInfo, then RSASP1.

    The card pads whatever DigestInfo it is given (RFC 8017 §9.2 steps 3-5, §5.2.1), so this
    works on raw integers rather than through a hash API. None when the data cannot fit.
    """
    key = serialization.load_pem_private_key(slot.private_key, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("the card's key is not RSA")
    numbers = key.private_numbers()
    size = (key.key_size + 7) // 8
    if len(digest_info) > size - 11:
        return None
    encoded = b"\x00\x01" + b"\xff" * (size - 3 - len(digest_info)) + b"\x00" + digest_info
    signature = pow(int.from_bytes(encoded, "big"), numbers.d, numbers.public_numbers.n)
    return signature.to_bytes(size, "big")
