"""Every validity check the IdP makes is counted for the relying party it was made for, by month,
kind and method; the CRL is charged per certificate a month; the counters never lose a count under
concurrent writers (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from sqlalchemy.orm import Session, sessionmaker

from idp import db as dbm
from idp import metering
from idp.bootstrap.trust import TrustServices
from idp.jpki.certificate import JpkiCertificate, parse_certificate
from idp.jpki.errors import (
    CertificateRevokedError,
    OcspUnavailableError,
    StatusUnknownError,
)
from idp.jpki.profile import Purpose
from idp.jpki.revocation import (
    CertState,
    CrlSource,
    FixedClock,
    RevocationChecker,
    RevocationStatus,
)
from idp.metering import Meter, MeteringReport, month_of
from idp.settings import RevocationPolicy
from idp.settings_ops import MeteringSettings
from tests.support import jpki_pki as pki
from tests.support.schema import differences

SIGN, AUTH = pki.ca(Purpose.SIGN), pki.ca(Purpose.AUTH)
AT = datetime(2026, 4, 10, 3, 0, tzinfo=UTC)
MONTH = "2026-04"


@dataclass
class Ocsp:
    """Answers good for every certificate, revoked for ``revoked``; unavailable when ``down``."""

    revoked: int | None = None
    unknown: int | None = None
    down: bool = False

    def status(self, certificate: JpkiCertificate,
               issuer: x509.Certificate) -> RevocationStatus:
        if self.down:
            raise OcspUnavailableError("the responder does not answer")
        state = CertState.REVOKED if certificate.serial == self.revoked else \
            CertState.UNKNOWN if certificate.serial == self.unknown else CertState.GOOD
        return RevocationStatus(state, "ocsp", datetime.now(UTC), None)


class Crls:
    """The CRL fetcher: each CA's CRL, listing serial 0x9999."""

    def fetch_crl_by_key(self, key_id: bytes) -> bytes:
        issuer = SIGN if key_id == SIGN.certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier).value.digest else AUTH
        return pki.crl(issuer, [pki.Revoked(0x9999)])


def _trust(sessions: sessionmaker[Session], tmp_path: Path, *, method: str,
           ocsp: Ocsp | None = None, fail_closed: bool = True) -> TrustServices:
    policy = RevocationPolicy(method=method, fail_closed=fail_closed)  # type: ignore[arg-type]
    policies = {Purpose.SIGN: policy, Purpose.AUTH: policy}
    crl = CrlSource(Crls(), tmp_path / "crl", FixedClock(pki.NOW))
    checker = RevocationChecker(policies, ocsp=ocsp or Ocsp(), crl=crl)
    return TrustServices(pki.anchors(SIGN, AUTH), None, checker,  # type: ignore[arg-type]
                         policies, dict.fromkeys(Purpose, crl), meter=Meter(sessions))


def _check(trust: TrustServices, certificate: x509.Certificate, purpose: Purpose) -> Any:
    return trust.check_now(trust.verify(parse_certificate(pki.der(certificate)), purpose,
                                        pki.NOW))


def _rows(sessions: sessionmaker[Session], month: str) -> dict[tuple[str, str, str],
                                                               tuple[int, int, int]]:
    report = MeteringReport(sessions, MeteringSettings()).report(month)
    return {(r.client_id, r.kind, r.method): (r.checks, r.charged, r.yen) for r in report}


def _this_month() -> str:
    return month_of(datetime.now(UTC))


def test_ocsp_checks_are_charged_each_to_the_bound_relying_party(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    trust = _trust(sessions, tmp_path, method="ocsp")
    with metering.on_behalf_of("bank"):
        _check(trust, pki.sign_cert(SIGN), Purpose.SIGN)
        _check(trust, pki.sign_cert(SIGN), Purpose.SIGN)
        _check(trust, pki.auth_cert(AUTH), Purpose.AUTH)
    _check(trust, pki.auth_cert(AUTH), Purpose.AUTH)  # nobody bound: onboarding without an RP
    assert _rows(sessions, _this_month()) == {
        ("bank", "sign", "ocsp"): (2, 2, 40), ("bank", "auth", "ocsp"): (1, 1, 2),
        ("none", "auth", "ocsp"): (1, 1, 2)}


def test_revoked_and_unknown_answers_are_checks_and_an_outage_let_through_is_none(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    revoked = _trust(sessions, tmp_path, method="ocsp", ocsp=Ocsp(revoked=0x1001))
    with metering.on_behalf_of("bank"), pytest.raises(CertificateRevokedError):
        _check(revoked, pki.sign_cert(SIGN), Purpose.SIGN)
    unknown = _trust(sessions, tmp_path, method="ocsp", ocsp=Ocsp(unknown=0x2001))
    with metering.on_behalf_of("bank"), pytest.raises(StatusUnknownError):
        _check(unknown, pki.auth_cert(AUTH), Purpose.AUTH)
    down = _trust(sessions, tmp_path, method="ocsp", ocsp=Ocsp(down=True), fail_closed=False)
    with metering.on_behalf_of("bank"):
        assert _check(down, pki.sign_cert(SIGN), Purpose.SIGN).status.state is CertState.UNKNOWN
    assert _rows(sessions, _this_month()) == {("bank", "sign", "ocsp"): (1, 1, 20),
                                              ("bank", "auth", "ocsp"): (1, 1, 2)}


def test_an_ocsp_outage_falling_back_to_the_crl_is_charged_as_a_crl_check(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    trust = _trust(sessions, tmp_path, method="ocsp_then_crl", ocsp=Ocsp(down=True))
    with metering.on_behalf_of("bank"):
        assert _check(trust, pki.sign_cert(SIGN), Purpose.SIGN).status.source == "crl"
    assert _rows(sessions, _this_month()) == {("bank", "sign", "crl"): (1, 1, 20)}


def test_the_crl_is_charged_once_per_certificate_a_month_however_often_it_is_looked_up(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    trust = _trust(sessions, tmp_path, method="crl")
    with metering.on_behalf_of("bank"):
        for _ in range(3):
            _check(trust, pki.sign_cert(SIGN), Purpose.SIGN)
        _check(trust, pki.sign_cert(SIGN, serial=0x1002), Purpose.SIGN)
    with metering.on_behalf_of("shop"):
        _check(trust, pki.sign_cert(SIGN), Purpose.SIGN)  # another RP pays for its own check
    assert _rows(sessions, _this_month()) == {
        ("bank", "sign", "crl"): (4, 2, 40), ("shop", "sign", "crl"): (1, 1, 20)}


def test_a_batch_recheck_by_crl_is_charged_to_recheck_per_certificate(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    trust = _trust(sessions, tmp_path, method="crl")
    key_id = SIGN.certificate.extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier).value.digest
    with metering.on_behalf_of(metering.RECHECK):
        assert trust.revoked(Purpose.SIGN, key_id, ["1001", "1002", "9999"]).keys() == {"9999"}
        trust.revoked(Purpose.SIGN, key_id, ["1001", "1002", "9999"])
        # A login's CRL check of a certificate the batch saw: the same certificate, not twice.
        _check(trust, pki.sign_cert(SIGN), Purpose.SIGN)
    assert _rows(sessions, _this_month()) == {("recheck", "sign", "crl"): (7, 3, 60)}


def test_months_follow_japan_time(sessions: sessionmaker[Session]) -> None:
    meter = Meter(sessions)
    meter.checked("sign", "ocsp", "a:1", datetime(2026, 3, 31, 14, 59, tzinfo=UTC))
    meter.checked("sign", "ocsp", "a:1", datetime(2026, 3, 31, 15, 0, tzinfo=UTC))  # 4/1 0:00
    assert _rows(sessions, "2026-03") == {("none", "sign", "ocsp"): (1, 1, 20)}
    assert _rows(sessions, "2026-04") == {("none", "sign", "ocsp"): (1, 1, 20)}


def test_prices_come_from_the_settings_table(sessions: sessionmaker[Session]) -> None:
    meter = Meter(sessions)
    with metering.on_behalf_of("bank"):
        meter.checked_many("sign", "ocsp", ["a:1", "a:2"], AT)
        meter.checked("auth", "link", "a:3", AT)
    rows = MeteringReport(sessions, MeteringSettings(sign_yen=25, auth_yen=3)).report(MONTH)
    assert [(r.kind, r.method, r.unit_yen, r.yen) for r in rows] == [
        ("auth", "link", 3, 3), ("sign", "ocsp", 25, 50)]


def test_concurrent_checks_lose_no_count(sessions: sessionmaker[Session]) -> None:
    meter, workers, each = Meter(sessions), 8, 25
    start = threading.Barrier(workers)

    def work(n: int) -> None:
        start.wait()
        with metering.on_behalf_of("bank"):
            for i in range(each):
                meter.checked("auth", "ocsp", f"k:{n}:{i}", AT)
                meter.checked("sign", "crl", f"k:{i}", AT)  # the same 25 certificates in all

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _rows(sessions, MONTH) == {
        ("bank", "auth", "ocsp"): (workers * each, workers * each, 2 * workers * each),
        ("bank", "sign", "crl"): (workers * each, each, 20 * each)}


def test_counts_deferred_to_the_callers_transaction_are_written_there_or_alone(
        sessions: sessionmaker[Session]) -> None:
    meter = Meter(sessions)
    with meter.deferred():
        meter.checked("sign", "ocsp", "a:1", AT)
        assert _rows(sessions, MONTH) == {}  # waiting for the caller's write
        with dbm.transaction(sessions) as session:
            meter.write_pending(session)
        meter.checked("auth", "ocsp", "b:1", AT)  # after the caller's write: written alone
    assert _rows(sessions, MONTH) == {("none", "sign", "ocsp"): (1, 1, 20),
                                      ("none", "auth", "ocsp"): (1, 1, 2)}

    def refused_after_writing() -> None:
        with meter.deferred():
            meter.checked("sign", "crl", "a:2", AT)
            with dbm.transaction(sessions) as session:
                meter.write_pending(session)
                raise RuntimeError("the caller's transaction rolls back")

    with pytest.raises(RuntimeError):
        refused_after_writing()
    assert _rows(sessions, MONTH)[("none", "sign", "crl")] == (1, 1, 20)  # written alone


def test_the_migration_builds_the_metering_tables_the_models_describe(database_url: str) -> None:
    assert differences(database_url, "metering") == []
