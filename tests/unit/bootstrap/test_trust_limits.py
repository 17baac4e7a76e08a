"""The trust services honour each purpose's own revocation limits (``trust.sign``/``trust.auth``):
a CRL past its nextUpdate, or an OCSP answer of some age, is refused for the purpose whose limit
it exceeds and accepted for the one whose limit it meets.

J-LIS is mocked over HTTP (``responses``); the CRLs and OCSP answers are the test PKI's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp

from idp.bootstrap import trust as card_services
from idp.jpki.certificate import parse_certificate
from idp.jpki.errors import OcspUnavailableError, StaleCrlError
from idp.jpki.profile import Purpose
from idp.jpki.revocation import CertState
from idp.jpki.revocation.crl import anchor_key_id
from idp.jpki.validation import VerifiedCertificate
from idp.settings import Settings
from tests.support import jpki_pki as pki

URL = "http://jlis.test"
SIGN, AUTH = pki.ca(Purpose.SIGN), pki.ca(Purpose.AUTH)
CERTIFICATES = {Purpose.SIGN: pki.sign_cert(SIGN), Purpose.AUTH: pki.auth_cert(AUTH)}
ISSUERS = {Purpose.SIGN: SIGN, Purpose.AUTH: AUTH}
HOUR = 3600


@pytest.fixture
def jlis() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _services(tmp_path: Path, method: str, **limits: dict[str, int]) -> card_services.TrustServices:
    """The trust services ``build`` makes, with the test PKI's CAs as anchors."""
    var_dir = tmp_path / "var"
    for purpose, generation in ISSUERS.items():
        folder = var_dir / "trust" / purpose.value
        folder.mkdir(parents=True)
        (folder / "ca.pem").write_bytes(
            generation.certificate.public_bytes(serialization.Encoding.PEM))
    trust = {purpose: {"method": method, **limits.get(purpose, {})}
             for purpose in ("sign", "auth")}
    settings = Settings(var_dir=var_dir, jlis={"url": URL, "api_key": "k"}, trust=trust)
    return card_services.build(settings)


def _verified(services: card_services.TrustServices, purpose: Purpose) -> VerifiedCertificate:
    certificate = parse_certificate(pki.der(CERTIFICATES[purpose]))
    return services.verify(certificate, purpose, datetime.now(UTC))


def test_a_crl_stale_for_one_purposes_limit_is_refused_there_and_accepted_for_the_other(
        jlis: responses.RequestsMock, tmp_path: Path) -> None:
    """Both CAs' newest CRLs expired an hour ago: signing allows no staleness, auth two hours."""
    now = datetime.now(UTC)
    for generation in ISSUERS.values():
        der = pki.crl(generation, [], this_update=now - timedelta(hours=25),
                      next_update=now - timedelta(hours=1))
        key_id = anchor_key_id(generation.certificate).hex()
        jlis.add(responses.GET, f"{URL}/v1/crl/by-key/{key_id}", body=der,
                 content_type="application/pkix-crl")
    services = _services(tmp_path, "crl", sign={"max_crl_staleness_seconds": 0},
                         auth={"max_crl_staleness_seconds": 2 * HOUR})
    with pytest.raises(StaleCrlError):
        services.check_now(_verified(services, Purpose.SIGN))
    assert services.check_now(_verified(services, Purpose.AUTH)).status.state is CertState.GOOD


def test_an_ocsp_answer_too_old_for_one_purposes_limit_is_refused_there_and_accepted_for_the_other(
        jlis: responses.RequestsMock, tmp_path: Path) -> None:
    """The responder answers with a thisUpdate ten minutes old: signing allows one minute, auth
    an hour."""
    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        body: Any = request.body
        asked = ocsp.load_der_ocsp_request(body)
        nonce = asked.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        purpose = next(p for p, c in CERTIFICATES.items() if c.serial_number == asked.serial_number)
        der = pki.ocsp_response(ISSUERS[purpose], CERTIFICATES[purpose], nonce,
                                this_update=datetime.now(UTC) - timedelta(minutes=10))
        return 200, {"Content-Type": "application/ocsp-response"}, der

    jlis.add_callback(responses.POST, f"{URL}/v1/ocsp", callback=answer)
    services = _services(tmp_path, "ocsp", sign={"max_ocsp_age_seconds": 60},
                         auth={"max_ocsp_age_seconds": HOUR})
    with pytest.raises(OcspUnavailableError, match="older than"):
        services.check_now(_verified(services, Purpose.SIGN))
    assert services.check_now(_verified(services, Purpose.AUTH)).status.state is CertState.GOOD
