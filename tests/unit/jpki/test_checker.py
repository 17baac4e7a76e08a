"""The revocation policy per purpose: ocsp, crl, ocsp_then_crl; fail closed on unknown."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from idp.jpki.certificate import JpkiCertificate, parse_certificate
from idp.jpki.errors import (
    CertificateRevokedError,
    CrlUnavailableError,
    OcspUnavailableError,
    RevocationReason,
    RevocationUnavailableError,
    StatusUnknownError,
)
from idp.jpki.profile import Purpose
from idp.jpki.revocation import CertState, RevocationChecker, RevocationStatus
from idp.jpki.validation import VerifiedCertificate, verify_certificate
from idp.settings import RevocationPolicy
from tests.support import jpki_pki as pki

SIGN, AUTH = pki.ca(Purpose.SIGN), pki.ca(Purpose.AUTH)
ANCHORS = pki.anchors(SIGN, AUTH)


def _verified(purpose: Purpose) -> VerifiedCertificate:
    certificate = pki.sign_cert(SIGN) if purpose is Purpose.SIGN else pki.auth_cert(AUTH)
    return verify_certificate(parse_certificate(pki.der(certificate)), expected_purpose=purpose,
                              anchors=ANCHORS, at=pki.NOW)


@dataclass
class Scripted:
    """A RevocationSource that answers a fixed state, or raises."""

    name: str
    state: CertState | None  # None: unavailable
    reason: RevocationReason | None = None
    asked: list[int] = field(default_factory=list)

    def status(self, certificate: JpkiCertificate, issuer: object) -> RevocationStatus:
        self.asked.append(certificate.serial)
        if self.state is None:
            error = OcspUnavailableError if self.name == "ocsp" else CrlUnavailableError
            raise error(f"{self.name} is down")
        return RevocationStatus(self.state, self.name, pki.NOW, pki.NOW + timedelta(hours=1),
                                self.reason, pki.NOW if self.reason else None)


def _checker(method: str, ocsp: Scripted, crl: Scripted, *,
             fail_closed: bool = True) -> RevocationChecker:
    policy = RevocationPolicy(method=method, fail_closed=fail_closed)  # type: ignore[arg-type]
    return RevocationChecker({Purpose.SIGN: policy, Purpose.AUTH: policy}, ocsp=ocsp, crl=crl)


def test_a_good_status_clears_the_certificate() -> None:
    checked = _checker("ocsp", Scripted("ocsp", CertState.GOOD), Scripted("crl", None)).check(
        _verified(Purpose.AUTH))
    assert checked.status.is_good


@pytest.mark.parametrize(("reason", "advice"), [
    (RevocationReason.SUPERSEDED, "use the card's current certificate"),
    (RevocationReason.AFFILIATION_CHANGED, "died or moved abroad"),
    (RevocationReason.CESSATION_OF_OPERATION, "apply for a new card"),
    (RevocationReason.CERTIFICATE_HOLD, "reported lost"),
    (RevocationReason.KEY_COMPROMISE, "compromised"),
    (RevocationReason.UNSPECIFIED, "apply for a new certificate"),
])
def test_each_revocation_reason_is_refused_with_what_to_do(reason: RevocationReason,
                                                           advice: str) -> None:
    checker = _checker("crl", Scripted("ocsp", None), Scripted("crl", CertState.REVOKED, reason))
    with pytest.raises(CertificateRevokedError, match=advice) as raised:
        checker.check(_verified(Purpose.SIGN))
    assert raised.value.reason is reason
    assert raised.value.status == 403
    assert raised.value.to_dict()["revocation_reason"] == reason.value


def test_ocsp_then_crl_falls_back_to_the_crl_only_when_ocsp_is_unavailable() -> None:
    crl = Scripted("crl", CertState.GOOD)
    checked = _checker("ocsp_then_crl", Scripted("ocsp", None), crl).check(
        _verified(Purpose.SIGN))
    assert (checked.status.source, len(crl.asked)) == ("crl", 1)


def test_ocsp_then_crl_does_not_overrule_an_ocsp_revocation() -> None:
    crl = Scripted("crl", CertState.GOOD)
    checker = _checker("ocsp_then_crl", Scripted("ocsp", CertState.REVOKED,
                                                 RevocationReason.SUPERSEDED), crl)
    with pytest.raises(CertificateRevokedError, match="per ocsp"):
        checker.check(_verified(Purpose.SIGN))
    assert crl.asked == []


def test_ocsp_only_fails_closed_when_ocsp_is_unreachable() -> None:
    with pytest.raises(OcspUnavailableError):
        _checker("ocsp", Scripted("ocsp", None), Scripted("crl", CertState.GOOD)).check(
            _verified(Purpose.AUTH))


def test_an_unknown_status_fails_closed() -> None:
    with pytest.raises(StatusUnknownError, match="does not know"):
        _checker("ocsp", Scripted("ocsp", CertState.UNKNOWN), Scripted("crl", None)).check(
            _verified(Purpose.AUTH))


def test_with_fail_open_an_unavailable_status_is_returned_as_unknown() -> None:
    checked = _checker("crl", Scripted("ocsp", None), Scripted("crl", None),
                       fail_closed=False).check(_verified(Purpose.AUTH))
    assert checked.status.state is CertState.UNKNOWN


def test_each_purpose_follows_its_own_policy() -> None:
    ocsp, crl = Scripted("ocsp", CertState.GOOD), Scripted("crl", CertState.GOOD)
    checker = RevocationChecker({Purpose.SIGN: RevocationPolicy(method="ocsp"),
                                 Purpose.AUTH: RevocationPolicy(method="crl")},
                                ocsp=ocsp, crl=crl)
    assert checker.check(_verified(Purpose.SIGN)).status.source == "ocsp"
    assert checker.check(_verified(Purpose.AUTH)).status.source == "crl"


def test_sources_given_per_purpose_answer_only_for_their_purpose() -> None:
    """One source per purpose, each with its purpose's limits (the trust services build them)."""
    sign_crl, auth_crl = Scripted("crl", CertState.GOOD), Scripted("crl", None)
    checker = RevocationChecker({p: RevocationPolicy(method="crl") for p in Purpose}, ocsp=None,
                                crl={Purpose.SIGN: sign_crl, Purpose.AUTH: auth_crl})
    assert checker.check(_verified(Purpose.SIGN)).status.is_good
    with pytest.raises(CrlUnavailableError):
        checker.check(_verified(Purpose.AUTH))
    assert (len(sign_crl.asked), len(auth_crl.asked)) == (1, 1)


def test_a_missing_source_is_unavailable_not_a_crash() -> None:
    checker = RevocationChecker({Purpose.AUTH: RevocationPolicy(method="crl")},
                                ocsp=None, crl=None)
    with pytest.raises(RevocationUnavailableError, match="not configured"):
        checker.check(_verified(Purpose.AUTH))
