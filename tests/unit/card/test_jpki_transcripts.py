"""The client replays recorded virtual-card transcripts byte for byte (tests/vectors/card)."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from idp.card.apdu import EF
from idp.card.connection import Channel
from idp.card.digest import digest_info_sha256
from idp.card.errors import PinBlockedError, SecurityStatusError, WrongPinError
from idp.card.jpki import JpkiCard
from idp.jpki.profile import TOKEN_CARD, TOKEN_PHONE, Purpose
from tests.support.transcript import ReplayConnection


def _card(name: str) -> tuple[JpkiCard, ReplayConnection]:
    replay = ReplayConnection(name)
    card = JpkiCard(Channel(replay))
    card.select()
    return card, replay


def test_info_reads_the_token_a_multi_chunk_certificate_and_both_counters() -> None:
    card, replay = _card("info")
    assert card.token() == TOKEN_CARD
    der = card.read_certificate(EF.AUTH_CERT)
    assert len(der) > 256  # read as a 4-byte header and then 256-byte chunks
    x509.load_der_x509_certificate(der)
    assert (card.tries_left(Purpose.SIGN), card.tries_left(Purpose.AUTH)) == (5, 3)
    assert replay.finished


def test_wrong_pins_count_down_to_a_blocked_pin() -> None:
    card, replay = _card("pin_countdown")
    outcomes: list[object] = []
    for _ in range(4):
        with pytest.raises((WrongPinError, PinBlockedError)) as caught:
            card.verify_pin(Purpose.AUTH, "9999")
        outcomes.append(getattr(caught.value, "tries_left", "blocked"))
    assert outcomes == [2, 1, "blocked", "blocked"]
    assert card.tries_left(Purpose.AUTH) == 0
    assert [answer.hex() for answer in replay.responses_to(bytes.fromhex("002000800439393939"))] \
        == ["63c2", "63c1", "63c0", "6984"]


def test_signing_flow_gives_a_pkcs1_signature_over_the_digest_info() -> None:
    card, replay = _card("sign")
    assert card.tries_left(Purpose.SIGN) == 5
    card.verify_pin(Purpose.SIGN, "ABC123")
    certificate = x509.load_der_x509_certificate(card.read_certificate(EF.SIGN_CERT))
    message = b"jpki-idp/1\ntranscript"
    signature = card.sign(Purpose.SIGN, digest_info_sha256(message))
    assert len(signature) == 256
    key = certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    assert replay.finished


def test_a_phone_keeps_its_auth_certificate_behind_the_auth_pin() -> None:
    card, replay = _card("phone")
    assert card.token() == TOKEN_PHONE
    with pytest.raises(SecurityStatusError):
        card.read_certificate(EF.AUTH_CERT)
    card.verify_pin(Purpose.AUTH, "1234")
    x509.load_der_x509_certificate(card.read_certificate(EF.AUTH_CERT))
    assert replay.finished
