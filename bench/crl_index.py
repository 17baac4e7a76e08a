"""CRL index benchmark: refresh time and lookup latency at 1M and 10M revoked serials.

    python -m bench crl [--sizes 1000000,10000000] [--lookups 100000] [--no-write]

For each size it measures, on one core:
- *refresh*: a real RSA-2048/SHA-256 signed DER CRL (built here by a small DER writer, since
  ``cryptography``'s CRL builder is quadratic in the number of entries) goes through the IdP's own
  ``build_index``: parse, verify the signature once, read every entry (serial, reason, date),
  sort if needed, write the index file atomically;
- *index build from a serial list* (no DER): ``write_index`` over random, unsorted serials;
- *lookups*: p50/p99 of ``CrlIndex.lookup`` for serials on the CRL (hits) and not (misses);
- the baseline: ``cryptography``'s linear ``get_revoked_certificate_by_serial_number`` (misses).
Results go to stdout and to ``docs/benchmarks.md`` (section "CRL index").
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from bench.report import write_section
from idp.jpki.revocation.crl import build_index
from idp.jpki.revocation.crl_index import CrlIndex, CrlMeta, RawEntry, write_index

NOW = datetime(2026, 6, 1, tzinfo=UTC)
SHA256_RSA = bytes.fromhex("300d06092a864886f70d01010b0500")


def _tlv(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body


def _integer(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _utc(moment: datetime) -> bytes:
    return _tlv(0x17, moment.strftime("%y%m%d%H%M%SZ").encode())


def _reason(code: int) -> bytes:  # Extensions { reasonCode (2.5.29.21) ENUMERATED }
    return _tlv(0x30, _tlv(0x30, _tlv(0x06, bytes.fromhex("551d15")) +
                           _tlv(0x04, _tlv(0x0A, bytes([code])))))


def signed_crl(serials: list[int], issuer: x509.Certificate, key: rsa.RSAPrivateKey, *,
               now: datetime = NOW) -> bytes:
    """A complete v2 CRL (RFC 5280 §5.1) with a reasonCode per entry, signed by ``key``, valid
    from ``now`` for a day."""
    revoked_on = _utc(now - timedelta(days=1))
    reasons = [_reason(code) for code in (1, 3, 4, 5, 6)]
    entries = b"".join(_tlv(0x30, _integer(s) + revoked_on + reasons[s % 5]) for s in serials)
    crl_number = _tlv(0xA0, _tlv(0x30, _tlv(0x30, _tlv(0x06, bytes.fromhex("551d14")) +
                                            _tlv(0x04, _integer(1)))))
    tbs = _tlv(0x30, _integer(1) + SHA256_RSA + issuer.subject.public_bytes() + _utc(now)
               + _utc(now + timedelta(days=1)) + _tlv(0x30, entries) + crl_number)
    signature = key.sign(tbs, padding.PKCS1v15(), hashes.SHA256())
    return _tlv(0x30, tbs + SHA256_RSA + _tlv(0x03, b"\0" + signature))


def _ca() -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "JPKI-SIM"),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "bench")])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(1)
                   .not_valid_before(NOW - timedelta(days=1))
                   .not_valid_after(NOW + timedelta(days=3650))
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                                  critical=False)
                   .sign(key, hashes.SHA256()))
    return certificate, key


@dataclass(frozen=True)
class Row:
    size: int
    crl_mb: float
    refresh_s: float
    list_build_s: float
    index_mb: float
    hit_p50_us: float
    hit_p99_us: float
    miss_p50_us: float
    miss_p99_us: float
    baseline_miss_ms: float | None


def _percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49], cuts[98]


def _time_lookups(index: CrlIndex, serials: list[int]) -> tuple[float, float]:
    samples = []
    for serial in serials:
        start = time.perf_counter_ns()
        index.lookup(serial)
        samples.append((time.perf_counter_ns() - start) / 1000)
    return _percentiles(samples)


def run_size(size: int, lookups: int, workdir: Path, baseline: bool) -> Row:
    issuer, key = _ca()
    rng = random.Random(size)
    # J-LIS serials are issued in order; a CRL lists them ascending (the common, fast path).
    serials = sorted(rng.sample(range(1, 1 << 40), size))
    der = signed_crl(serials, issuer, key)
    gc.collect()
    start = time.perf_counter()
    build_index(der, issuer, workdir / "crl.idx", now=NOW)
    refresh = time.perf_counter() - start
    baseline_ms = _baseline(der, rng, baseline)
    crl_mb = len(der) / 1e6
    del der
    gc.collect()
    shuffled = serials[:]
    rng.shuffle(shuffled)
    meta = CrlMeta(NOW, NOW + timedelta(days=1), 1, b"bench", b"\0" * 32)
    start = time.perf_counter()
    write_index(workdir / "list.idx", meta, (RawEntry(s, 4, 0) for s in shuffled))
    list_build = time.perf_counter() - start
    del shuffled
    index = CrlIndex(workdir / "crl.idx")
    hits = rng.sample(serials, min(lookups, size))
    present = set(hits)
    misses = [s for s in (rng.randrange(1, 1 << 40) for _ in range(lookups)) if s not in present]
    hit_p50, hit_p99 = _time_lookups(index, hits)
    miss_p50, miss_p99 = _time_lookups(index, misses)
    index_mb = (workdir / "crl.idx").stat().st_size / 1e6
    index.close()
    return Row(size, crl_mb, refresh, list_build, index_mb, hit_p50, hit_p99, miss_p50,
               miss_p99, baseline_ms)


def _baseline(der: bytes, rng: random.Random, enabled: bool) -> float | None:
    """cryptography's linear search, for scale: a few misses are enough."""
    if not enabled:
        return None
    crl = x509.load_der_x509_crl(der)
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        crl.get_revoked_certificate_by_serial_number(rng.randrange(1 << 41, 1 << 42))
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def _table(rows: list[Row]) -> str:
    lines = ["| revoked serials | DER CRL | refresh (parse + verify + index) | index from serial "
             "list (unsorted) | index file | lookup hit p50 / p99 | lookup miss p50 / p99 | "
             "cryptography linear lookup (miss) |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        baseline = f"{row.baseline_miss_ms:.0f} ms" if row.baseline_miss_ms is not None else "—"
        lines.append(f"| {row.size:,} | {row.crl_mb:.0f} MB | {row.refresh_s:.1f} s | "
                     f"{row.list_build_s:.1f} s | {row.index_mb:.0f} MB | "
                     f"{row.hit_p50_us:.1f} / {row.hit_p99_us:.1f} µs | "
                     f"{row.miss_p50_us:.1f} / {row.miss_p99_us:.1f} µs | {baseline} |")
    return "\n".join(lines)


def _report(rows: list[Row], lookups: int) -> str:
    machine = f"{platform.python_implementation()} {platform.python_version()}, " \
              f"{os.cpu_count()} CPU(s), {platform.machine()}"
    return (f"Command: `python -m bench crl` ({datetime.now(UTC):%Y-%m-%d}, {machine}; one "
            f"process, {lookups:,} timed lookups per kind, warm page cache).\n\n"
            + _table(rows) + "\n\n"
            "What is measured: *refresh* is `idp.jpki.revocation.crl.build_index` on a real "
            "RSA-2048/SHA-256 signed DER CRL with a reasonCode per entry and ascending serials "
            "(how J-LIS issues them): DER parse, one signature verification, reading every "
            "entry, writing the 32-byte-record index atomically. *Index from serial list* is "
            "`write_index` over the same serials shuffled (the sort path, no DER). Lookups are "
            "`CrlIndex.lookup` (binary search over the mmap), timed one by one with "
            "`perf_counter_ns`, so they include the Python call overhead. The baseline is "
            "`cryptography`'s `get_revoked_certificate_by_serial_number` on the same CRL "
            "(median of 5 misses).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench crl", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000",
                        help="comma-separated CRL sizes (default: 1M and 10M)")
    parser.add_argument("--lookups", type=int, default=100_000)
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip cryptography's linear lookup (slow at 10M)")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args(argv)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="bench-crl-") as workdir:
            print(f"CRL index: {size:,} serials ...", flush=True)
            rows.append(run_size(size, args.lookups, Path(workdir), not args.no_baseline))
            print(_table(rows[-1:]), flush=True)
    report = _report(rows, args.lookups)
    print(report)
    if not args.no_write:
        write_section("CRL index", report)
    return 0
