"""`idp sim serve` as a real process: the CLI writes, the HTTP API answers (CRL and OCSP)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from tests.support.sim import RunningSim, SimCommandError, sim_server

__all__ = ["sim_server"]  # the fixture, re-exported for pytest


def _ocsp(sim: RunningSim, certificate: x509.Certificate, issuer: x509.Certificate,
          ) -> ocsp.OCSPResponse:
    request = (ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA256())
               .build().public_bytes(Encoding.DER))
    answer = requests.post(f"{sim.url}/v1/ocsp", data=request, timeout=10,
                           headers=sim.headers | {"Content-Type": "application/ocsp-request"})
    assert answer.status_code == 200
    return ocsp.load_der_ocsp_response(answer.content)


def test_a_move_made_on_the_command_line_shows_on_the_served_crl_and_ocsp(
        sim_server: RunningSim, tmp_path: Path) -> None:
    person = sim_server.add_person("山田 太郎", "1980-02-17", tmp_path / "taro.json")
    moved = sim_server.cli("person", "move", person["person_id"], "--address", "大阪府大阪市北区1")
    assert moved["sign_serial"] != person["sign_serial"]
    assert moved["auth_serial"] == person["auth_serial"]

    answer = requests.get(f"{sim_server.url}/v1/crl/sign-card-2023", headers=sim_server.headers,
                          timeout=10)
    crl = x509.load_der_x509_crl(answer.content)
    entry = crl.get_revoked_certificate_by_serial_number(int(person["sign_serial"], 16))
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason \
        is x509.ReasonFlags.affiliation_changed

    shown = sim_server.cli("person", "show", person["person_id"])
    der = {c["serial"]: c["certificate"] for c in shown["certificates"]}
    issuer = x509.load_der_x509_certificate(requests.get(
        f"{sim_server.url}/ca/sign-card-2023.der", timeout=10).content)
    old = x509.load_der_x509_certificate(base64.b64decode(der[person["sign_serial"]]))
    new = x509.load_der_x509_certificate(base64.b64decode(der[moved["sign_serial"]]))
    assert _ocsp(sim_server, old, issuer).certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert _ocsp(sim_server, new, issuer).certificate_status is ocsp.OCSPCertStatus.GOOD


def test_the_verifier_api_wants_the_registered_key(sim_server: RunningSim) -> None:
    url = f"{sim_server.url}/v1/crl/sign-card-2023"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=10).status_code \
        == 403


def test_an_event_for_an_unknown_person_is_refused_with_exit_1(sim_server: RunningSim) -> None:
    with pytest.raises(SimCommandError) as refused:
        sim_server.cli("person", "die", "p-nobody")
    assert refused.value.returncode == 1
    assert "no resident" in refused.value.stderr


def test_ca_export_writes_pem_anchors_per_purpose(sim_server: RunningSim, tmp_path: Path) -> None:
    result = sim_server.run("ca", "export", str(tmp_path / "trust"))
    assert result.returncode == 0
    sign = sorted(p.name for p in (tmp_path / "trust" / "sign").glob("*.pem"))
    assert sign == ["jpki-sim-sign-card-2019.pem", "jpki-sim-sign-card-2023.pem",
                    "jpki-sim-sign-phone-2023.pem"]
    for path in (tmp_path / "trust" / "auth").glob("*.pem"):
        assert x509.load_pem_x509_certificate(path.read_bytes()).subject.rfc4514_string() \
            .find("O=JPKI-SIM") >= 0


def test_metering_on_the_command_line_counts_served_checks(sim_server: RunningSim) -> None:
    before = requests.get(f"{sim_server.url}/v1/metering", headers=sim_server.headers,
                          timeout=10).json()
    requests.get(f"{sim_server.url}/v1/crl/auth-card-2023", headers=sim_server.headers,
                 timeout=10)
    rows = [json.loads(line) for line in sim_server.run("metering", "--json").stdout.splitlines()]
    mine = next(r for r in rows if r["verifier_id"] == sim_server.verifier_id)
    assert mine["yen"] == before["yen"] + 2
