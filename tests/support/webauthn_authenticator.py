"""A software WebAuthn authenticator plus the browser's part, for tests of the ceremonies.

Written from WebAuthn Level 3: §6.1 authenticator data (rpIdHash | flags | signCount |
attestedCredentialData), §6.5.1 attested credential data (AAGUID | length | credential id |
COSE_Key), §8.7 the "none" attestation format, §5.8.1 clientDataJSON, §6.3.3 the assertion
signature over authenticatorData || SHA-256(clientDataJSON). Keys are EC P-256 (COSE alg -7).
Every knob a test needs to play a faulty or hostile authenticator is a keyword argument.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

FLAG_UP = 0x01
FLAG_UV = 0x04
FLAG_BE = 0x08
FLAG_BS = 0x10
FLAG_AT = 0x40

# A made-up model identifier, so that tests can tell it was recorded.
SOFT_AAGUID = bytes.fromhex("5ca1ab1e00000000000000000000cafe")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftCredential:
    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0

    def cose_public_key(self) -> bytes:
        numbers = self.private_key.public_key().public_numbers()
        # RFC 9053 §7.1.1: kty EC2 (2), alg ES256 (-7), crv P-256 (1), x, y.
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})


@dataclass
class SoftAuthenticator:
    """One authenticator: a platform authenticator by default (UV capable, device-bound).

    ``backup_eligible``/``backup_state`` play a synced passkey provider; ``counting=False`` an
    authenticator that always reports signCount 0 (as synced passkeys do).
    """

    aaguid: bytes = SOFT_AAGUID
    backup_eligible: bool = False
    backup_state: bool = False
    counting: bool = True
    transports: tuple[str, ...] = ("internal", "hybrid")
    cross_origin: bool = False  # as if the page ran the ceremony inside another site's iframe
    credentials: dict[bytes, SoftCredential] = field(default_factory=dict)

    def create(self, options_json: str, *, origin: str, user_verified: bool = True,
               rp_id: str | None = None, challenge: bytes | None = None,
               credential_id: bytes | None = None) -> str:
        """navigator.credentials.create(): a registration response in its JSON form.

        ``credential_id`` replays an ID already made (an authenticator ignoring
        excludeCredentials); by default each call makes a new credential.
        """
        options = json.loads(options_json)
        rp = rp_id or options["rp"]["id"]
        credential = SoftCredential(
            credential_id=credential_id or secrets.token_bytes(32),
            private_key=ec.generate_private_key(ec.SECP256R1()),
            rp_id=rp,
            user_handle=unb64url(options["user"]["id"]),
        )
        self.credentials[credential.credential_id] = credential
        client_data = self._client_data("webauthn.create", options, origin, challenge,
                                        self.cross_origin)
        attested = (self.aaguid + struct.pack(">H", len(credential.credential_id))
                    + credential.credential_id + credential.cose_public_key())
        auth_data = self._auth_data(rp, user_verified, credential.sign_count, FLAG_AT) + attested
        attestation_object = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps({
            "id": b64url(credential.credential_id),
            "rawId": b64url(credential.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation_object),
                "transports": list(self.transports),
            },
        })

    def get(self, options_json: str, *, origin: str, credential_id: bytes | None = None,
            user_verified: bool = True, rp_id: str | None = None, challenge: bytes | None = None,
            sign_count: int | None = None, user_handle: bytes | None = None) -> str:
        """navigator.credentials.get(): an assertion response in its JSON form.

        Without ``credential_id`` the only discoverable credential for the RP is used, as when
        the person picks it from the browser's list.
        """
        options = json.loads(options_json)
        rp = rp_id or options["rpId"]
        credential = self._choose(rp, credential_id)
        if self.counting:
            credential.sign_count += 1
        count = credential.sign_count if sign_count is None else sign_count
        client_data = self._client_data("webauthn.get", options, origin, challenge,
                                        self.cross_origin)
        auth_data = self._auth_data(rp, user_verified, count, 0)
        signature = credential.private_key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        handle = credential.user_handle if user_handle is None else user_handle
        return json.dumps({
            "id": b64url(credential.credential_id),
            "rawId": b64url(credential.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(handle),
            },
        })

    def _choose(self, rp_id: str, credential_id: bytes | None) -> SoftCredential:
        if credential_id is not None:
            return self.credentials[credential_id]
        candidates = [c for c in self.credentials.values() if c.rp_id == rp_id]
        if len(candidates) != 1:
            raise LookupError(f"{len(candidates)} credentials for {rp_id}: pass credential_id")
        return candidates[0]

    def _auth_data(self, rp_id: str, user_verified: bool, sign_count: int, extra: int) -> bytes:
        flags = FLAG_UP | extra
        flags |= FLAG_UV if user_verified else 0
        flags |= FLAG_BE if self.backup_eligible else 0
        flags |= FLAG_BS if self.backup_state else 0
        rp_id_hash = hashlib.sha256(rp_id.encode("utf-8")).digest()
        return rp_id_hash + bytes([flags]) + struct.pack(">I", sign_count)

    @staticmethod
    def _client_data(kind: str, options: dict[str, Any], origin: str,
                     challenge: bytes | None, cross_origin: bool) -> bytes:
        sent = b64url(challenge) if challenge is not None else options["challenge"]
        return json.dumps({"type": kind, "challenge": sent, "origin": origin,
                           "crossOrigin": cross_origin}).encode("utf-8")
