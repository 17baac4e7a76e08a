"""Virtual card files for tests: real JPKI-profile certificates under a throwaway JPKI-SIM CA.

RSA keys are the slow part, so the CAs and the end-entity keys are made once per test session;
each card file still gets fresh certificates and its own PINs and counters.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from idp.jpki.profile import TOKEN_CARD, TOKEN_PHONE, Basic4Info, Purpose, Sex
from trust import cardfile
from trust.jlis_sim.issuing import (
    CaGeneration,
    issue_auth_certificate,
    issue_sign_certificate,
    new_ca,
    new_rsa_key,
)

SIGN_PIN = "ABC123"
AUTH_PIN = "1234"


@dataclass(frozen=True)
class TestCard:
    path: Path
    sign_certificate: x509.Certificate | None
    auth_certificate: x509.Certificate


@functools.cache
def _ca(purpose: Purpose) -> CaGeneration:
    now = datetime.now(UTC)
    return new_ca(purpose, "test", now - timedelta(days=1), now + timedelta(days=3650))


@functools.cache
def _key(purpose: Purpose) -> rsa.RSAPrivateKey:
    return new_rsa_key()


def make_card(path: Path, *, phone: bool = False, with_sign: bool = True,
              sign_pin: str = SIGN_PIN, auth_pin: str = AUTH_PIN,
              sign_tries: int = 5, auth_tries: int = 3) -> TestCard:
    """Write a card file (a phone's when ``phone``) and return its certificates."""
    now = datetime.now(UTC)
    period = {"not_before": now - timedelta(hours=1), "not_after": now + timedelta(days=365)}
    auth_cert = issue_auth_certificate(_ca(Purpose.AUTH), _key(Purpose.AUTH).public_key(),
                                       serial=x509.random_serial_number(), subject_id="AUTHTEST",
                                       urls=None, **period)
    sign_cert = None
    if with_sign:
        info = Basic4Info(name="公的　太郎", birth_date=date(1980, 4, 1), sex=Sex.MALE,
                          address="東京都千代田区霞が関２－１－２")
        sign_cert = issue_sign_certificate(
            _ca(Purpose.SIGN), _key(Purpose.SIGN).public_key(), serial=x509.random_serial_number(),
            info=info, prefecture="Tokyo", city="Chiyoda-ku", subject_id="SIGNTEST", urls=None,
            **period)
    card = cardfile.CardFile(
        person_id="test-person", token=TOKEN_PHONE if phone else TOKEN_CARD,
        sign=_slot(Purpose.SIGN, sign_cert, sign_pin, sign_tries, 5) if sign_cert else None,
        auth=_slot(Purpose.AUTH, auth_cert, auth_pin, auth_tries, 3))
    cardfile.save(path, card)
    return TestCard(path, sign_cert, auth_cert)


def _slot(purpose: Purpose, certificate: x509.Certificate, pin: str, tries: int,
          max_tries: int) -> cardfile.KeySlot:
    der = serialization.Encoding.DER
    return cardfile.KeySlot(
        certificate=certificate.public_bytes(der),
        ca_certificate=_ca(purpose).certificate.public_bytes(der),
        private_key=_key(purpose).private_bytes(serialization.Encoding.PEM,
                                                serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()),
        pin=pin, tries_left=tries, max_tries=max_tries)
