"""OCSP through the J-LIS client (HTTP mocked with ``responses``): every check on the answer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import requests
import responses
from cryptography import x509
from cryptography.x509 import ocsp

from idp.jlis import HttpJlisClient
from idp.jpki.certificate import parse_certificate
from idp.jpki.errors import OcspUnavailableError, RevocationReason
from idp.jpki.profile import Purpose
from idp.jpki.revocation import CertState, FixedClock, OcspSource
from tests.support import jpki_pki as pki

URL = "http://jlis.test"
CA = pki.ca(Purpose.AUTH)
CERT = pki.auth_cert(CA, serial=0x2001)
HOLDER = parse_certificate(pki.der(CERT))
Answer = Callable[[bytes], bytes]  # nonce of the request -> DER response


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def _serve(mock: responses.RequestsMock, answer: Answer) -> None:
    def callback(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        assert request.headers["Authorization"] == "Bearer k"
        body = request.body
        assert isinstance(body, bytes)
        parsed = ocsp.load_der_ocsp_request(body)
        nonce = parsed.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        return 200, {"Content-Type": "application/ocsp-response"}, answer(nonce)

    mock.add_callback(responses.POST, f"{URL}/v1/ocsp", callback=callback)


def _corrupt_signature(der: bytes) -> bytes:
    signature = ocsp.load_der_ocsp_response(der).signature
    return der.replace(signature, signature[:-1] + bytes([signature[-1] ^ 1]))


def _status(max_age: int = 300) -> object:
    source = OcspSource(HttpJlisClient(URL, "k"), FixedClock(pki.NOW), max_age_seconds=max_age)
    return source.status(HOLDER, CA.certificate)


def test_a_good_answer_from_the_delegated_responder_is_good(
        mocked: responses.RequestsMock) -> None:
    _serve(mocked, lambda nonce: pki.ocsp_response(CA, CERT, nonce))
    status = _status()
    assert status.state is CertState.GOOD  # type: ignore[attr-defined]
    assert status.source == "ocsp"  # type: ignore[attr-defined]


def test_a_revoked_answer_carries_reason_and_time(mocked: responses.RequestsMock) -> None:
    _serve(mocked, lambda nonce: pki.ocsp_response(
        CA, CERT, nonce, status=ocsp.OCSPCertStatus.REVOKED,
        reason=x509.ReasonFlags.cessation_of_operation))
    status = _status()
    assert status.state is CertState.REVOKED  # type: ignore[attr-defined]
    assert status.reason is RevocationReason.CESSATION_OF_OPERATION  # type: ignore[attr-defined]
    assert status.revoked_at == pki.NOW - timedelta(days=1)  # type: ignore[attr-defined]


def test_an_unknown_answer_is_reported_as_unknown(mocked: responses.RequestsMock) -> None:
    _serve(mocked, lambda nonce: pki.ocsp_response(
        CA, CERT, nonce, status=ocsp.OCSPCertStatus.UNKNOWN))
    assert _status().state is CertState.UNKNOWN  # type: ignore[attr-defined]


def test_an_answer_signed_by_the_ca_itself_is_accepted(mocked: responses.RequestsMock) -> None:
    _serve(mocked, lambda nonce: pki.ocsp_response(
        CA, CERT, nonce, responder_cert=CA.certificate, responder_key=CA.key))
    assert _status().state is CertState.GOOD  # type: ignore[attr-defined]


@pytest.mark.parametrize(("answer", "message"), [
    (lambda nonce: pki.ocsp_response(CA, CERT, b"another nonce"), "nonce"),
    (lambda nonce: pki.ocsp_response(CA, CERT, None), "nonce"),
    (lambda nonce: pki.ocsp_response(CA, CERT, nonce, this_update=pki.NOW - timedelta(
        minutes=10)), "older than"),
    (lambda nonce: pki.ocsp_response(CA, CERT, nonce, this_update=pki.NOW + timedelta(
        hours=1)), "future"),
    (lambda nonce: pki.ocsp_response(CA, pki.auth_cert(CA, serial=0x999), nonce),
     "another certificate"),
    (lambda nonce: _corrupt_signature(pki.ocsp_response(CA, CERT, nonce)),
     "signature does not verify"),
    (lambda nonce: pki.ocsp_response(CA, CERT, nonce, responder_cert=pki.responder(
        CA, eku=False)), "OCSPSigning"),
    (lambda nonce: pki.ocsp_response(CA, CERT, nonce, responder_cert=pki.responder(
        CA, signer=pki.key("impostor"))), "not issued by the CA generation"),
    (lambda nonce: pki.ocsp_response(pki.ca(Purpose.AUTH, "2019"), CERT, nonce),
     "another certificate"),
    (lambda nonce: b"garbage", "no valid OCSP response"),
    (lambda nonce: ocsp.OCSPResponseBuilder.build_unsuccessful(
        ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(pki.serialization.Encoding.DER),
     "UNAUTHORIZED"),
], ids=["nonce-mismatch", "nonce-missing", "too-old", "future", "other-serial",
        "bad-signature", "responder-without-eku", "responder-of-another-ca",
        "other-generation", "garbage", "unsuccessful"])
def test_an_answer_failing_a_check_is_refused(mocked: responses.RequestsMock, answer: Answer,
                                              message: str) -> None:
    _serve(mocked, answer)
    with pytest.raises(OcspUnavailableError, match=message):
        _status()


def test_an_unreachable_responder_fails_closed(mocked: responses.RequestsMock) -> None:
    mocked.add(responses.POST, f"{URL}/v1/ocsp",
               body=requests.ConnectionError("connection refused"))
    with pytest.raises(OcspUnavailableError, match="could not be reached") as raised:
        _status()
    assert raised.value.status == 424


def test_a_server_error_fails_closed(mocked: responses.RequestsMock) -> None:
    mocked.add(responses.POST, f"{URL}/v1/ocsp", status=503)
    with pytest.raises(OcspUnavailableError, match="503"):
        _status()
