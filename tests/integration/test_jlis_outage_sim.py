"""A J-LIS outage staged in front of the running simulator (a gate that accepts and never
answers): once the OCSP breaker is open, the anchor re-check of a card or passkey sign-in
answers in a small fraction of the J-LIS timeout with the trust policy's fallback — the CRL
index, or the fail-closed refusal — and when J-LIS is back one trial call closes the breaker."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from idp import db
from idp.accounts import anchors
from idp.accounts.anchor_check import AnchorCheck, AnchorChecker
from idp.accounts.anchor_policy import AnchorState
from idp.bootstrap.trust import LazyTrust
from idp.jlis import HttpJlisClient
from idp.jpki.anchors import load_anchors
from idp.jpki.certificate import parse_certificate
from idp.jpki.errors import OcspUnavailableError
from idp.jpki.profile import Purpose
from idp.jpki.revocation import CrlSource, SystemClock
from idp.jpki.validation import VerifiedCertificate, verify_certificate
from idp.settings import Settings
from tests.support.jlis_gate import JlisGate
from tests.support.sim import RunningSim, sim_server

__all__ = ["sim_server"]  # the pytest fixture, imported for this module
pytestmark = pytest.mark.slow

TIMEOUT = 2.0  # jlis.timeout_seconds: what every call waits while J-LIS hangs
# With the breaker open a check must answer well inside one timeout: a quarter leaves room for a
# loaded machine (measured 2-6 ms when idle) and still tells "failed fast" from "waited".
RESET = 2.0  # jlis.breaker_reset_seconds


@pytest.fixture(scope="module")
def gate(sim_server: RunningSim) -> Iterator[JlisGate]:
    with JlisGate(sim_server.url) as gate:
        yield gate


@dataclass
class World:
    """One person with a card anchor (signing) and a linked auth certificate, and the checker a
    worker runs at every sign-in, its J-LIS calls going through the gate."""

    private_id: str
    trust: LazyTrust
    checker: AnchorChecker
    sign: VerifiedCertificate

    def timed_check(self) -> tuple[AnchorCheck, float]:
        started = time.perf_counter()
        check = self.checker.check(self.private_id)
        return check, time.perf_counter() - started


@contextmanager
def world(sim: RunningSim, gate: JlisGate, tmp_path: Path, method: str) -> Iterator[World]:
    var_dir = tmp_path / "var"
    assert sim.run("ca", "export", str(var_dir / "trust")).returncode == 0
    url = f"sqlite:///{tmp_path / 'idp.sqlite3'}"
    db.upgrade(url)
    policy = {"method": method}
    settings = Settings(var_dir=var_dir, database_url=url, trust={"sign": policy, "auth": policy},
                        jlis={"url": gate.url, "api_key": sim.api_key, "timeout_seconds": TIMEOUT,
                              "breaker_failure_threshold": 2, "breaker_reset_seconds": RESET})
    person = sim.add_person("高橋 三郎", "1970-03-03", tmp_path / "saburo.json")
    shown = {c["serial"]: c["certificate"] for c in
             sim.cli("person", "show", person["person_id"])["certificates"]}
    trusted = load_anchors(settings.anchors_dir)
    sign, auth = (verify_certificate(parse_certificate(base64.b64decode(shown[serial])),
                                     expected_purpose=purpose, anchors=trusted,
                                     at=SystemClock().now())
                  for serial, purpose in ((person["sign_serial"], Purpose.SIGN),
                                          (person["auth_serial"], Purpose.AUTH)))
    engine = db.make_engine(url)
    sessions = db.make_sessionmaker(engine)
    with db.transaction(sessions) as session:
        private_id = anchors.new_person(session).id
        anchors.add_anchor(session, private_id, sign)
        anchors.link_auth(session, private_id, auth.certificate.serial_hex, via="card_login",
                          certificate=auth.certificate)
    # The CRL indexes as some worker's last refresh left them (nextUpdate a day ahead).
    crl = CrlSource(HttpJlisClient(sim.url, sim.api_key), settings.crl_cache_dir, SystemClock())
    for verified in (sign, auth):
        crl.index_for(verified.anchor.certificate)
    trust = LazyTrust(settings)
    try:
        yield World(private_id, trust, AnchorChecker(sessions, trust), sign)
    finally:
        engine.dispose()


def test_with_ocsp_hanging_the_recheck_answers_from_the_crl_index_at_once_once_the_breaker_opens(
        sim_server: RunningSim, gate: JlisGate, tmp_path: Path) -> None:
    with world(sim_server, gate, tmp_path, "ocsp_then_crl") as person:
        assert person.timed_check()[0].state is AnchorState.CURRENT  # OCSP answers
        gate.hang()
        try:
            first, waited = person.timed_check()  # sign and auth: one OCSP timeout each
            assert first.state is AnchorState.CURRENT  # from the CRL index
            assert waited >= 2 * TIMEOUT
            assert person.trust.jlis_breakers()["ocsp"] == "open"
            then, took = person.timed_check()
            assert then.state is AnchorState.CURRENT
            assert took < TIMEOUT / 4, f"{took:.3f} s with the breaker open"
        finally:
            gate.forward()
        time.sleep(RESET)
        assert person.trust.jlis_breakers()["ocsp"] == "half_open"
        assert person.timed_check()[0].state is AnchorState.CURRENT  # the trial reached J-LIS
        assert person.trust.jlis_breakers() == {
            "ocsp": "closed", "crl": "closed", "links": "closed", "basic4": "closed",
            "age": "closed", "metering": "closed"}


def test_with_ocsp_only_the_recheck_fails_closed_at_once_once_the_breaker_opens(
        sim_server: RunningSim, gate: JlisGate, tmp_path: Path) -> None:
    with world(sim_server, gate, tmp_path, "ocsp") as person:
        gate.hang()
        try:
            first, waited = person.timed_check()
            assert (first.state, first.reason) == (AnchorState.UNVERIFIABLE, "status_unknown")
            assert waited >= 2 * TIMEOUT
            then, took = person.timed_check()
            assert (then.state, then.reason) == (AnchorState.UNVERIFIABLE, "status_unknown")
            assert took < TIMEOUT / 4, f"{took:.3f} s with the breaker open"
            started = time.perf_counter()  # a card login's own check: the 424 it answers
            with pytest.raises(OcspUnavailableError, match="not answering"):
                person.trust.check_now(person.sign)
            assert time.perf_counter() - started < TIMEOUT / 4
        finally:
            gate.forward()
