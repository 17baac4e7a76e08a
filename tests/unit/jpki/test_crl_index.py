"""The CRL index: a signed CRL becomes a sorted mmap file answering lookups by binary search."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509

from idp.jpki.errors import CrlUnavailableError, RevocationReason
from idp.jpki.profile import Purpose
from idp.jpki.revocation.crl import build_index
from idp.jpki.revocation.crl_index import (
    HEADER_SIZE,
    CrlIndex,
    CrlMeta,
    RawEntry,
    write_index,
)
from tests.support import jpki_pki as pki

CA = pki.ca(Purpose.SIGN)
REASONS = [x509.ReasonFlags.superseded, x509.ReasonFlags.affiliation_changed,
           x509.ReasonFlags.cessation_of_operation, x509.ReasonFlags.certificate_hold, None]


def test_a_signed_crl_is_indexed_with_reasons_dates_and_metadata(tmp_path: Path) -> None:
    revoked = [pki.Revoked(serial, reason) for serial, reason in
               zip([0x50, 0x10, 0x30, 0x20, 0x40], REASONS, strict=True)]
    meta = build_index(pki.crl(CA, revoked, number=7), CA.certificate, tmp_path / "a.idx",
                       now=pki.NOW)
    index = CrlIndex(tmp_path / "a.idx")
    assert (index.count, index.meta, meta.crl_number) == (5, meta, 7)
    assert index.meta.next_update == pki.NOW + timedelta(hours=24)
    hit = index.lookup(0x20)
    assert hit is not None
    assert hit.reason is RevocationReason.CERTIFICATE_HOLD
    assert hit.revoked_at == pki.NOW - timedelta(days=1)
    assert index.lookup(0x40).reason is RevocationReason.UNSPECIFIED  # type: ignore[union-attr]
    assert index.lookup(0x10).reason is RevocationReason.AFFILIATION_CHANGED  # type: ignore[union-attr]
    for miss in (0, 0x11, 0x51, 2**159):
        assert index.lookup(miss) is None


def test_an_empty_crl_answers_every_lookup_with_a_miss(tmp_path: Path) -> None:
    build_index(pki.crl(CA, []), CA.certificate, tmp_path / "e.idx", now=pki.NOW)
    assert CrlIndex(tmp_path / "e.idx").lookup(1) is None


@pytest.mark.parametrize("count", [1, 2, 3, 1000])
def test_every_serial_is_found_and_every_gap_missed(tmp_path: Path, count: int) -> None:
    serials = [s * 3 + 1 for s in range(count)]
    meta = CrlMeta(pki.NOW, pki.NOW, 1, b"k", b"\0" * 32)
    write_index(tmp_path / "n.idx", meta, (RawEntry(s, 4, 0) for s in reversed(serials)))
    index = CrlIndex(tmp_path / "n.idx")
    assert all(index.lookup(s) is not None for s in serials)
    assert not any(index.lookup(s + 1) for s in serials)


def test_a_crl_signed_by_another_key_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    forged = pki.crl(CA, [], signer=pki.key("impostor"))
    with pytest.raises(CrlUnavailableError, match="not signed by"):
        build_index(forged, CA.certificate, tmp_path / "f.idx", now=pki.NOW)
    assert not (tmp_path / "f.idx").exists()


def test_a_tampered_crl_is_refused(tmp_path: Path) -> None:
    data = bytearray(pki.crl(CA, [pki.Revoked(0x1001)]))
    data[data.index(bytes([0x02, 0x02, 0x10, 0x01])) + 3] ^= 0x01  # the serial 0x1001
    with pytest.raises(CrlUnavailableError):
        build_index(bytes(data), CA.certificate, tmp_path / "t.idx", now=pki.NOW)


def test_malformed_crl_der_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CrlUnavailableError, match="malformed"):
        build_index(b"\x30\x00", CA.certificate, tmp_path / "m.idx", now=pki.NOW)


def test_a_crl_of_the_other_generation_is_refused(tmp_path: Path) -> None:
    other = pki.ca(Purpose.SIGN, "2019")
    with pytest.raises(CrlUnavailableError, match="another CA generation"):
        build_index(pki.crl(other, []), CA.certificate, tmp_path / "g.idx", now=pki.NOW)


def test_a_crl_number_going_backwards_is_a_refused_rollback(tmp_path: Path) -> None:
    first = build_index(pki.crl(CA, [], number=5), CA.certificate, tmp_path / "r.idx",
                        now=pki.NOW)
    with pytest.raises(CrlUnavailableError, match="rollback"):
        build_index(pki.crl(CA, [], number=4), CA.certificate, tmp_path / "r.idx",
                    now=pki.NOW, previous=first)


def test_a_damaged_index_file_is_refused(tmp_path: Path) -> None:
    build_index(pki.crl(CA, [pki.Revoked(3)]), CA.certificate, tmp_path / "d.idx", now=pki.NOW)
    data = (tmp_path / "d.idx").read_bytes()
    (tmp_path / "d.idx").write_bytes(data[:HEADER_SIZE + 5])
    with pytest.raises(CrlUnavailableError, match="damaged"):
        CrlIndex(tmp_path / "d.idx")


def test_a_serial_over_20_octets_is_outside_rfc_5280(tmp_path: Path) -> None:
    build_index(pki.crl(CA, []), CA.certificate, tmp_path / "s.idx", now=pki.NOW)
    with pytest.raises(CrlUnavailableError, match="20 octets"):
        CrlIndex(tmp_path / "s.idx").lookup(2**160)


@pytest.mark.parametrize("asked", [3, 400])  # binary searches, then one pass over the records
def test_revoked_among_finds_exactly_the_listed_serials_with_their_reasons(
        tmp_path: Path, asked: int) -> None:
    serials = [s * 3 + 1 for s in range(1000)]
    meta = CrlMeta(pki.NOW, pki.NOW, 1, b"k", b"\0" * 32)
    write_index(tmp_path / "b.idx", meta, (RawEntry(s, 6 if s % 2 else 1, 86400) for s in serials))
    index = CrlIndex(tmp_path / "b.idx")
    listed = serials[::1000 // asked][:asked]
    found = index.revoked_among([f"{s:x}" for s in [*listed, *(s + 1 for s in listed)]])
    assert sorted(found) == sorted(f"{s:x}" for s in listed)
    assert all(found[f"{s:x}"].reason is (RevocationReason.CERTIFICATE_HOLD if s % 2 else
                                          RevocationReason.KEY_COMPROMISE) for s in listed)
    assert found[f"{listed[0]:x}"] == index.lookup(listed[0])
