"""The trust core against the running J-LIS simulator over HTTP: anchors, path, OCSP and CRL."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from idp.jlis import HttpJlisClient
from idp.jpki.anchors import TrustAnchors
from idp.jpki.certificate import JpkiCertificate, parse_certificate
from idp.jpki.errors import CertificateRevokedError, RevocationReason
from idp.jpki.profile import Medium, Purpose
from idp.jpki.revocation import (
    CertState,
    CrlSource,
    OcspSource,
    RevocationChecker,
    SystemClock,
)
from idp.jpki.validation import VerifiedCertificate, verify_certificate
from idp.settings import RevocationPolicy
from tests.support.sim import RunningSim, sim_server

__all__ = ["sim_server"]  # the pytest fixture, imported for this module


@pytest.fixture(scope="module")
def client(sim_server: RunningSim) -> HttpJlisClient:
    return HttpJlisClient(sim_server.url, sim_server.api_key)


@pytest.fixture(scope="module")
def anchors(client: HttpJlisClient) -> TrustAnchors:
    """The simulator's CA generations, as the demo exports them into the IdP's trust dir."""
    from cryptography import x509

    result = TrustAnchors(())
    for ca in client.list_cas():
        result += TrustAnchors.of(Purpose(ca.purpose),
                                  [x509.load_der_x509_certificate(ca.certificate)])
    return result


def _certificates(sim: RunningSim, person_id: str) -> list[dict[str, Any]]:
    certificates: list[dict[str, Any]] = sim.cli("person", "show", person_id)["certificates"]
    return certificates


def _current(sim: RunningSim, person_id: str, serial: str) -> JpkiCertificate:
    (found,) = [c for c in _certificates(sim, person_id) if c["serial"] == serial]
    return parse_certificate(base64.b64decode(found["certificate"]))


def _verify(certificate: JpkiCertificate, anchors: TrustAnchors) -> VerifiedCertificate:
    return verify_certificate(certificate, expected_purpose=certificate.purpose, anchors=anchors,
                              at=SystemClock().now())


def test_the_simulator_runs_two_card_generations_per_purpose_with_one_dn(
        anchors: TrustAnchors) -> None:
    for purpose in Purpose:
        card = [a for a in anchors.for_purpose(purpose) if a.medium is Medium.CARD]
        assert len(card) == 2
        assert card[0].subject == card[1].subject
        assert card[0].key_id != card[1].key_id


@pytest.mark.parametrize("generation", ["2019", "2023"])
def test_a_residents_certificates_validate_and_are_good_by_ocsp_and_by_crl(
        sim_server: RunningSim, client: HttpJlisClient, anchors: TrustAnchors,
        tmp_path: Path, generation: str) -> None:
    person = sim_server.add_person("山田 花子", "1980-02-17", tmp_path / "hanako.json", sex="2",
                                   extra=("--ca-generation", generation))
    ocsp = OcspSource(client, SystemClock())
    crl = CrlSource(client, tmp_path / "crl", SystemClock())
    for serial in (person["sign_serial"], person["auth_serial"]):
        verified = _verify(_current(sim_server, person["person_id"], serial), anchors)
        assert verified.certificate.serial_hex == serial
        assert f"{verified.anchor.certificate.not_valid_before_utc:%Y}" == generation
        for source in (ocsp, crl):
            status = source.status(verified.certificate, verified.anchor.certificate)
            assert status.state is CertState.GOOD, source
    signing = _current(sim_server, person["person_id"], person["sign_serial"])
    assert signing.basic4 is not None
    assert signing.basic4.name.replace("　", " ") == "山田 花子"


def test_a_move_revokes_the_signing_certificate_with_its_reason_by_both_sources(
        sim_server: RunningSim, client: HttpJlisClient, anchors: TrustAnchors,
        tmp_path: Path) -> None:
    person = sim_server.add_person("佐藤 一郎", "1975-05-05", tmp_path / "ichiro.json")
    signing = _verify(_current(sim_server, person["person_id"], person["sign_serial"]), anchors)
    auth = _verify(_current(sim_server, person["person_id"], person["auth_serial"]), anchors)
    sim_server.cli("person", "move", person["person_id"], "--address", "大阪府大阪市北区1-1")
    (record,) = [c for c in _certificates(sim_server, person["person_id"])
                 if c["serial"] == person["sign_serial"]]
    expected = RevocationReason(record["revocation_reason"])
    sources = {"ocsp": OcspSource(client, SystemClock()),
               "crl": CrlSource(client, tmp_path / "crl", SystemClock())}
    for name in sources:
        checker = RevocationChecker(
            {p: RevocationPolicy(method=name) for p in Purpose},  # type: ignore[arg-type]
            ocsp=sources["ocsp"], crl=sources["crl"])
        with pytest.raises(CertificateRevokedError) as raised:
            checker.check(signing)
        assert (raised.value.reason, raised.value.source) == (expected, name)
        assert checker.check(auth).status.state is CertState.GOOD  # auth survives a move
