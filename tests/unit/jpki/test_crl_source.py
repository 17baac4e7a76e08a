"""CrlSource: one verified download per nextUpdate, shared by workers, fail closed when stale."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from idp.jlis.errors import JlisUnavailableError
from idp.jpki.certificate import parse_certificate
from idp.jpki.errors import CrlUnavailableError, RevocationReason, StaleCrlError
from idp.jpki.profile import Purpose
from idp.jpki.revocation import CertState, CrlSource, FixedClock
from idp.jpki.revocation import crl as crl_module
from tests.support import jpki_pki as pki

CA = pki.ca(Purpose.SIGN)
HOLDER = parse_certificate(pki.der(pki.sign_cert(CA, serial=0x1001)))


class FakeFetcher:
    """Serves queued CRLs by key id and counts downloads; raises when told J-LIS is down."""

    def __init__(self, *crls: bytes) -> None:
        self.crls = list(crls)
        self.calls = 0
        self.down = False

    def fetch_crl_by_key(self, key_id: bytes) -> bytes:
        self.calls += 1
        if self.down:
            raise JlisUnavailableError("J-LIS is down")
        return self.crls.pop(0) if len(self.crls) > 1 else self.crls[0]


def _source(fetcher: FakeFetcher, tmp_path: Path, clock: FixedClock,
            staleness: int = 0) -> CrlSource:
    return CrlSource(fetcher, tmp_path, clock, max_staleness_seconds=staleness)


def test_a_serial_not_on_the_crl_is_good(tmp_path: Path) -> None:
    status = _source(FakeFetcher(pki.crl(CA, [])), tmp_path, FixedClock(pki.NOW)).status(
        HOLDER, CA.certificate)
    assert status.state is CertState.GOOD
    assert (status.source, status.next_update) == ("crl", pki.NOW + timedelta(hours=24))


def test_a_revoked_serial_reports_reason_and_time(tmp_path: Path) -> None:
    fetcher = FakeFetcher(pki.crl(CA, [pki.Revoked(0x1001)]))
    status = _source(fetcher, tmp_path, FixedClock(pki.NOW)).status(HOLDER, CA.certificate)
    assert status.state is CertState.REVOKED
    assert status.reason is RevocationReason.SUPERSEDED
    assert status.revoked_at == pki.NOW - timedelta(days=1)


def test_the_crl_is_downloaded_and_verified_once_per_next_update(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[int] = []
    real = crl_module.build_index
    monkeypatch.setattr(crl_module, "build_index",
                        lambda *a, **k: builds.append(1) or real(*a, **k))
    fetcher = FakeFetcher(pki.crl(CA, []))
    source = _source(fetcher, tmp_path, FixedClock(pki.NOW))
    for _ in range(100):
        source.status(HOLDER, CA.certificate)
    assert (fetcher.calls, len(builds)) == (1, 1)


def test_another_worker_uses_the_shared_index_without_downloading(tmp_path: Path) -> None:
    clock = FixedClock(pki.NOW)
    _source(FakeFetcher(pki.crl(CA, [pki.Revoked(0x1001)])), tmp_path, clock).status(
        HOLDER, CA.certificate)
    other = FakeFetcher(pki.crl(CA, []))
    status = _source(other, tmp_path, clock).status(HOLDER, CA.certificate)
    assert (status.state, other.calls) == (CertState.REVOKED, 0)


def test_a_new_crl_is_fetched_after_next_update_and_its_revocations_apply(tmp_path: Path) -> None:
    clock = FixedClock(pki.NOW)
    later = pki.NOW + timedelta(hours=25)
    fetcher = FakeFetcher(pki.crl(CA, []),
                          pki.crl(CA, [pki.Revoked(0x1001, at=later)], this_update=later,
                                  next_update=later + timedelta(hours=24), number=2))
    source = _source(fetcher, tmp_path, clock)
    assert source.status(HOLDER, CA.certificate).state is CertState.GOOD
    clock.at = later
    assert source.status(HOLDER, CA.certificate).state is CertState.REVOKED
    assert fetcher.calls == 2


def test_a_worker_picks_up_the_index_another_worker_refreshed(tmp_path: Path) -> None:
    clock = FixedClock(pki.NOW)
    later = pki.NOW + timedelta(hours=25)
    first = _source(FakeFetcher(pki.crl(CA, [])), tmp_path, clock)
    first.status(HOLDER, CA.certificate)
    clock.at = later
    newer = pki.crl(CA, [pki.Revoked(0x1001)], this_update=later,
                    next_update=later + timedelta(hours=24), number=2)
    _source(FakeFetcher(newer), tmp_path, clock).status(HOLDER, CA.certificate)
    down = FakeFetcher(b"")
    down.down = True
    first._fetcher = down
    assert first.status(HOLDER, CA.certificate).state is CertState.REVOKED
    assert down.calls == 0


def test_a_crl_past_next_update_is_stale_when_j_lis_is_down(tmp_path: Path) -> None:
    clock = FixedClock(pki.NOW)
    fetcher = FakeFetcher(pki.crl(CA, []))
    source = _source(fetcher, tmp_path, clock)
    source.status(HOLDER, CA.certificate)
    fetcher.down = True
    clock.at = pki.NOW + timedelta(hours=25)
    with pytest.raises(StaleCrlError, match="J-LIS is down") as raised:
        source.status(HOLDER, CA.certificate)
    assert raised.value.status == 424


def test_policy_staleness_allows_a_late_crl_for_a_while(tmp_path: Path) -> None:
    clock = FixedClock(pki.NOW)
    fetcher = FakeFetcher(pki.crl(CA, []))
    source = _source(fetcher, tmp_path, clock, staleness=3600)
    source.status(HOLDER, CA.certificate)
    fetcher.down = True
    clock.at = pki.NOW + timedelta(hours=24, minutes=30)
    assert source.status(HOLDER, CA.certificate).state is CertState.GOOD
    clock.at = pki.NOW + timedelta(hours=25, minutes=1)
    with pytest.raises(StaleCrlError):
        source.status(HOLDER, CA.certificate)


def test_a_freshly_fetched_crl_that_is_already_stale_is_refused(tmp_path: Path) -> None:
    old = pki.crl(CA, [], this_update=pki.NOW - timedelta(days=3),
                  next_update=pki.NOW - timedelta(days=2))
    with pytest.raises(StaleCrlError):
        _source(FakeFetcher(old), tmp_path, FixedClock(pki.NOW)).status(HOLDER, CA.certificate)


def test_a_crl_j_lis_serves_already_expired_is_not_downloaded_again_at_every_check(
        tmp_path: Path) -> None:
    """J-LIS's CRL publication stuck: the download succeeds but the CRL is past nextUpdate. It
    counts as a failed refresh, retried at most every 30 s, not at every check (at 10 M
    entries each download is 385 MB and a minute of indexing)."""
    clock = FixedClock(pki.NOW)
    old = pki.crl(CA, [], this_update=pki.NOW - timedelta(days=2),
                  next_update=pki.NOW - timedelta(days=1))
    fetcher = FakeFetcher(old)
    source = _source(fetcher, tmp_path, clock)
    for _ in range(5):
        with pytest.raises(StaleCrlError, match="J-LIS's newest CRL expired"):
            source.status(HOLDER, CA.certificate)
    assert fetcher.calls == 1
    clock.at = pki.NOW + timedelta(seconds=31)
    fetcher.crls = [pki.crl(CA, [], this_update=pki.NOW, number=2)]
    assert source.status(HOLDER, CA.certificate).state is CertState.GOOD
    assert fetcher.calls == 2


def test_no_crl_at_all_fails_closed_with_the_reason(tmp_path: Path) -> None:
    fetcher = FakeFetcher(b"")
    fetcher.down = True
    with pytest.raises(CrlUnavailableError, match="J-LIS is down"):
        _source(fetcher, tmp_path, FixedClock(pki.NOW)).status(HOLDER, CA.certificate)


def test_a_tampered_download_is_refused_and_the_old_index_kept(tmp_path: Path) -> None:
    clock = FixedClock(pki.NOW)
    fetcher = FakeFetcher(pki.crl(CA, []), pki.crl(CA, [], signer=pki.key("impostor"),
                                                    this_update=pki.NOW + timedelta(hours=24)))
    source = _source(fetcher, tmp_path, clock, staleness=7200)
    source.status(HOLDER, CA.certificate)
    clock.at = pki.NOW + timedelta(hours=25)
    assert source.status(HOLDER, CA.certificate).state is CertState.GOOD  # old one, in policy
    assert fetcher.calls == 2


def test_another_process_reads_the_index_this_one_wrote(tmp_path: Path) -> None:
    import subprocess
    import sys

    _source(FakeFetcher(pki.crl(CA, [pki.Revoked(0x1001)])), tmp_path, FixedClock(pki.NOW)).status(
        HOLDER, CA.certificate)
    (index_file,) = tmp_path.glob("*.idx")
    code = ("import sys; from pathlib import Path; from idp.jpki.revocation import CrlIndex; "
            "i = CrlIndex(Path(sys.argv[1])); print(i.lookup(0x1001).reason, i.lookup(0x1002))")
    out = subprocess.run([sys.executable, "-c", code, str(index_file)], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    assert out.split() == ["superseded", "None"]


def test_while_another_worker_refreshes_the_held_index_serves_within_policy(
        tmp_path: Path) -> None:
    import fcntl

    clock = FixedClock(pki.NOW)
    fetcher = FakeFetcher(pki.crl(CA, []))
    source = _source(fetcher, tmp_path, clock, staleness=600)
    source.status(HOLDER, CA.certificate)
    clock.at = pki.NOW + timedelta(hours=24, minutes=1)
    (lock_path,) = tmp_path.glob("*.lock")
    with lock_path.open("w") as other_worker:
        fcntl.flock(other_worker, fcntl.LOCK_EX)
        assert source.status(HOLDER, CA.certificate).state is CertState.GOOD
    assert fetcher.calls == 1


def test_each_purposes_source_keeps_its_own_staleness_over_one_shared_cache(
        tmp_path: Path) -> None:
    """``with_staleness`` makes the source of another purpose: one download serves both, and
    past nextUpdate with J-LIS down each applies its own limit, the failed refresh's back-off
    shared (J-LIS is not asked again for the second purpose)."""
    clock = FixedClock(pki.NOW)
    fetcher = FakeFetcher(pki.crl(CA, []))
    strict = _source(fetcher, tmp_path, clock)
    lenient = strict.with_staleness(7200)
    assert strict.status(HOLDER, CA.certificate).state is CertState.GOOD
    assert lenient.status(HOLDER, CA.certificate).state is CertState.GOOD
    assert fetcher.calls == 1
    fetcher.down = True
    clock.at = pki.NOW + timedelta(hours=25)
    with pytest.raises(StaleCrlError):
        strict.status(HOLDER, CA.certificate)
    assert lenient.status(HOLDER, CA.certificate).state is CertState.GOOD
    assert fetcher.calls == 2
