"""Remembered paths (``VerifiedPaths``): by the whole certificate, within both validities, never
failures; and through ``TrustServices``, revocation still asked at every check."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from idp.accounts.anchor_check import AnchorChecker
from idp.accounts.anchor_policy import CertStatus
from idp.bootstrap.trust import TrustServices
from idp.jpki.certificate import JpkiCertificate
from idp.jpki.errors import (
    AnchorExpiredError,
    CertificateExpiredError,
    CertificateRevokedError,
    IssuerKeyMismatchError,
    RevocationReason,
)
from idp.jpki.profile import Purpose
from idp.jpki.revocation import CertState, CheckedStatus, RevocationStatus
from idp.jpki.validation import VerifiedCertificate, VerifiedPaths, verify_certificate
from tests.support import jpki_pki as pki

SIGN = pki.ca(Purpose.SIGN, "2023")
AUTH = pki.ca(Purpose.AUTH, "2023")
ANCHORS = pki.anchors(SIGN, AUTH)


class Counting:
    """The full validation, counted."""

    def __init__(self, purpose: Purpose = Purpose.SIGN, anchors: Any = ANCHORS) -> None:
        self.calls, self.purpose, self.anchors = 0, purpose, anchors

    def __call__(self, at: Any) -> Any:
        def validate(certificate: JpkiCertificate) -> VerifiedCertificate:
            self.calls += 1
            return verify_certificate(certificate, expected_purpose=self.purpose,
                                      anchors=self.anchors, at=at)
        return validate


def test_a_certificate_seen_again_is_not_parsed_and_validated_again() -> None:
    paths, counting, der = VerifiedPaths(), Counting(), pki.der(pki.sign_cert(SIGN))
    first = paths.verify(der, Purpose.SIGN, pki.NOW, counting(pki.NOW))
    later = pki.NOW + timedelta(days=3)
    again = paths.verify(der, Purpose.SIGN, later, counting(later))
    assert counting.calls == 1
    assert again.certificate is first.certificate
    assert again.anchor == first.anchor
    assert again.checked_at == later  # checked at this use's time


def test_after_its_expiry_the_full_validation_runs_and_refuses_it() -> None:
    paths, counting = VerifiedPaths(), Counting()
    der = pki.der(pki.sign_cert(SIGN, not_after=pki.NOW + timedelta(days=1)))
    paths.verify(der, Purpose.SIGN, pki.NOW, counting(pki.NOW))
    expired = pki.NOW + timedelta(days=2)
    with pytest.raises(CertificateExpiredError):
        paths.verify(der, Purpose.SIGN, expired, counting(expired))
    assert counting.calls == 2


def test_after_its_ca_expires_the_full_validation_runs_and_refuses_it() -> None:
    paths, counting = VerifiedPaths(), Counting()
    ca_end = SIGN.certificate.not_valid_after_utc
    der = pki.der(pki.sign_cert(SIGN, not_after=ca_end + timedelta(days=30)))
    paths.verify(der, Purpose.SIGN, pki.NOW, counting(pki.NOW))
    later = ca_end + timedelta(days=1)
    with pytest.raises(AnchorExpiredError):
        paths.verify(der, Purpose.SIGN, later, counting(later))
    assert counting.calls == 2


def test_a_different_certificate_with_the_same_serial_is_not_a_hit() -> None:
    paths, counting = VerifiedPaths(), Counting()
    genuine = pki.sign_cert(SIGN, serial=0x4242)
    paths.verify(pki.der(genuine), Purpose.SIGN, pki.NOW, counting(pki.NOW))
    forger = pki.ca(Purpose.SIGN, "forged")  # same DN as the trusted CA, another key
    forged = pki.sign_cert(forger, serial=0x4242)
    assert forged.serial_number == genuine.serial_number
    assert forged.issuer == genuine.issuer
    with pytest.raises(IssuerKeyMismatchError):
        paths.verify(pki.der(forged), Purpose.SIGN, pki.NOW, counting(pki.NOW))
    assert counting.calls == 2


def test_failures_are_not_remembered_and_the_purpose_is_part_of_the_key() -> None:
    paths, der = VerifiedPaths(), pki.der(pki.sign_cert(SIGN, not_after=pki.NOW))
    late = pki.NOW + timedelta(hours=1)
    counting = Counting()
    for _ in range(2):
        with pytest.raises(CertificateExpiredError):
            paths.verify(der, Purpose.SIGN, late, counting(late))
    assert counting.calls == 2
    auth = pki.der(pki.auth_cert(AUTH))
    as_auth = Counting(Purpose.AUTH)
    paths.verify(auth, Purpose.AUTH, pki.NOW, as_auth(pki.NOW))
    as_sign = Counting(Purpose.SIGN)
    with pytest.raises(Exception, match="needs the signing certificate"):
        paths.verify(auth, Purpose.SIGN, pki.NOW, as_sign(pki.NOW))
    assert as_sign.calls == 1


def test_the_oldest_entries_go_beyond_the_size() -> None:
    paths, counting = VerifiedPaths(size=2), Counting()
    ders = [pki.der(pki.sign_cert(SIGN, serial=serial)) for serial in (1, 2, 3)]
    for der in ders:
        paths.verify(der, Purpose.SIGN, pki.NOW, counting(pki.NOW))
    paths.verify(ders[2], Purpose.SIGN, pki.NOW, counting(pki.NOW))
    assert counting.calls == 3
    paths.verify(ders[0], Purpose.SIGN, pki.NOW, counting(pki.NOW))
    assert counting.calls == 4


class Revocation:
    """A revocation checker that answers what it is told, counting the questions."""

    def __init__(self) -> None:
        self.asked, self.revoked = 0, False

    def check(self, verified: VerifiedCertificate) -> CheckedStatus:
        self.asked += 1
        if self.revoked:
            raise CertificateRevokedError(RevocationReason.KEY_COMPROMISE, None, "crl")
        return CheckedStatus(verified, RevocationStatus(CertState.GOOD, "crl", pki.NOW, None))


def test_the_anchor_check_asks_revocation_at_every_check_with_the_path_remembered() -> None:
    revocation = Revocation()
    trust = TrustServices(ANCHORS, None, revocation)  # type: ignore[arg-type]
    checker = AnchorChecker(sessionmaker(bind=create_engine("sqlite://")), trust)
    der = pki.der(pki.sign_cert(SIGN))
    assert checker.status(der, Purpose.SIGN, pki.NOW).status is CertStatus.GOOD
    assert len(trust.paths._entries) == 1  # remembered
    revocation.revoked = True
    answer = checker.status(der, Purpose.SIGN, pki.NOW + timedelta(minutes=1))
    assert answer.status is CertStatus.REVOKED
    assert revocation.asked == 2


def test_a_new_policy_version_starts_with_no_remembered_paths() -> None:
    from dataclasses import replace

    trust = TrustServices(ANCHORS, None, Revocation())  # type: ignore[arg-type]
    trust.verify_der(pki.der(pki.sign_cert(SIGN)), Purpose.SIGN, pki.NOW)
    rebuilt = replace(trust, anchors=pki.anchors(AUTH), version=2)
    assert len(rebuilt.paths._entries) == 0
    with pytest.raises(Exception, match="no trusted sign CA"):
        rebuilt.verify_der(pki.der(pki.sign_cert(SIGN)), Purpose.SIGN, pki.NOW)
