"""DigestInfo for SHA-256 (RFC 8017 §9.2, note 1): what the card signs, before its padding."""

from __future__ import annotations

import hashlib

# DER of AlgorithmIdentifier(id-sha256, NULL) and the OCTET STRING header, fixed by RFC 8017.
SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


def digest_info_sha256(message: bytes) -> bytes:
    """DigestInfo(SHA-256, SHA-256(message))."""
    return SHA256_DIGEST_INFO_PREFIX + hashlib.sha256(message).digest()
