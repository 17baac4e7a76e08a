"""Revocation status from the CRL of the issuing CA generation, through a shared index.

Refresh (at most once per nextUpdate, per CA generation, across all worker processes):
fetch the DER CRL by the anchor's key id → check issuer, signature (once), nextUpdate and CRL
number → write the index file atomically. Lookups between refreshes touch only the mmap.
A CRL past its nextUpdate is still used for ``max_staleness_seconds`` (trust policy), then the
status is refused as unavailable (fail closed). Each certificate purpose has its own limit: one
source per purpose (``with_staleness``), all sharing one cache of indexes.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from cryptography import x509

from idp.errors import IdpError
from idp.jpki.certificate import JpkiCertificate
from idp.jpki.errors import CrlUnavailableError, RevocationReason, StaleCrlError
from idp.jpki.revocation.crl_index import CrlIndex, CrlMeta, RawEntry, crl_sha256, write_index
from idp.jpki.revocation.status import CertState, Clock, RevocationStatus

_CLOCK_SKEW = timedelta(minutes=5)
_RETRY_AFTER_FAILURE = timedelta(seconds=30)
_SUPPORTED_CRITICAL: set[x509.ObjectIdentifier] = set()  # no delta or indirect CRLs in JPKI


class CrlFetcher(Protocol):
    """Where CRLs come from (``idp.jlis.HttpJlisClient`` is one)."""

    def fetch_crl_by_key(self, key_id: bytes) -> bytes: ...


def anchor_key_id(issuer: x509.Certificate) -> bytes:
    try:
        return issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return x509.SubjectKeyIdentifier.from_public_key(issuer.public_key()).digest


def build_index(der: bytes, issuer: x509.Certificate, path: Path, *, now: datetime,
                previous: CrlMeta | None = None) -> CrlMeta:
    """Verify ``der`` as a CRL of ``issuer`` and write its index to ``path``."""
    try:
        crl = x509.load_der_x509_crl(der)
        signed = crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        raise CrlUnavailableError(f"the CRL of {issuer.subject.rfc4514_string()} is malformed: "
                                  f"{exc}") from exc
    if crl.issuer != issuer.subject or not signed:
        raise CrlUnavailableError(f"the CRL is not signed by {issuer.subject.rfc4514_string()} "
                                  "(tampered or of another CA generation); refusing it")
    meta = _meta(crl, der, anchor_key_id(issuer))
    if meta.this_update > now + _CLOCK_SKEW:
        raise CrlUnavailableError("the CRL's thisUpdate is in the future; check the server clock")
    if previous is not None and meta.crl_number < previous.crl_number:
        raise CrlUnavailableError(f"CRL number {meta.crl_number} is older than the cached "
                                  f"{previous.crl_number}; refusing a rollback")
    write_index(path, meta, _entries(crl))
    return meta


def _meta(crl: x509.CertificateRevocationList, der: bytes, key_id: bytes) -> CrlMeta:
    unknown = [e.oid.dotted_string for e in crl.extensions
               if e.critical and e.oid not in _SUPPORTED_CRITICAL]
    if unknown or crl.next_update_utc is None:
        raise CrlUnavailableError(f"the CRL has unsupported critical extensions {unknown} or no "
                                  "nextUpdate; JPKI CRLs are complete CRLs with nextUpdate")
    try:
        number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        number = 0
    return CrlMeta(crl.last_update_utc, crl.next_update_utc, number, key_id, crl_sha256(der))


def _entries(crl: x509.CertificateRevocationList) -> Iterator[RawEntry]:
    for revoked in crl:
        reason = 0
        for extension in revoked.extensions:
            if isinstance(extension.value, x509.CRLReason):
                reason = RevocationReason(extension.value.reason.value).code
            elif extension.critical:  # e.g. certificateIssuer: indirect CRLs are not JPKI's
                raise CrlUnavailableError(f"CRL entry extension {extension.oid.dotted_string} is "
                                          "critical and unsupported")
        yield RawEntry(revoked.serial_number, reason, int(revoked.revocation_date_utc.timestamp()))


class CrlSource:
    """A :class:`RevocationSource` over per-CA-generation index files in ``cache_dir``."""

    source = "crl"

    def __init__(self, fetcher: CrlFetcher, cache_dir: Path, clock: Clock, *,
                 max_staleness_seconds: int = 0) -> None:
        self._fetcher = fetcher
        self._dir = cache_dir
        self._clock = clock
        self._staleness = timedelta(seconds=max_staleness_seconds)
        self._open: dict[bytes, CrlIndex] = {}
        self._failed: dict[bytes, tuple[datetime, str]] = {}

    def with_staleness(self, max_staleness_seconds: int) -> CrlSource:
        """This source under another staleness limit (another purpose's policy), sharing its
        open indexes and refresh back-off, so no CRL is fetched or mapped twice."""
        twin = CrlSource(self._fetcher, self._dir, self._clock,
                         max_staleness_seconds=max_staleness_seconds)
        twin._open, twin._failed = self._open, self._failed
        return twin

    def status(self, certificate: JpkiCertificate, issuer: x509.Certificate) -> RevocationStatus:
        index = self.index_for(issuer)
        entry = index.lookup(certificate.serial)
        meta = index.meta
        if entry is None:
            return RevocationStatus(CertState.GOOD, self.source, meta.this_update,
                                    meta.next_update)
        return RevocationStatus(CertState.REVOKED, self.source, meta.this_update,
                                meta.next_update, entry.reason, entry.revoked_at)

    def index_for(self, issuer: x509.Certificate) -> CrlIndex:
        """The index of ``issuer``'s CRL, refreshed when past nextUpdate; raises if too stale."""
        key_id = anchor_key_id(issuer)
        now = self._clock.now()
        index = self._open.get(key_id)
        if index is None or now >= index.meta.next_update:
            index = self._reopen(key_id) or index
        if index is None or now >= index.meta.next_update:
            index = self._refresh(key_id, issuer, index, now) or index
        why = self._failed.get(key_id, (now, "no fetch attempted"))[1]
        if index is None:
            raise CrlUnavailableError(f"no CRL of {issuer.subject.rfc4514_string()} is available "
                                      f"({why}); try again later")
        if now > index.meta.next_update + self._staleness:
            raise StaleCrlError(
                f"the newest CRL available expired at {index.meta.next_update:%Y-%m-%d %H:%M} "
                f"UTC and no newer one could be had ({why}); try again later")
        return index

    def _path(self, key_id: bytes) -> Path:
        return self._dir / f"{key_id.hex()}.idx"

    def _reopen(self, key_id: bytes) -> CrlIndex | None:
        """Pick up an index another worker wrote since this process opened its own."""
        current = self._open.get(key_id)
        if current is not None and current.is_current_file():
            return current
        try:
            index = CrlIndex(self._path(key_id))
        except (FileNotFoundError, CrlUnavailableError):
            return None
        self._open[key_id] = index
        return index

    def _refresh(self, key_id: bytes, issuer: x509.Certificate, current: CrlIndex | None,
                 now: datetime) -> CrlIndex | None:
        failed = self._failed.get(key_id)
        if failed is not None and now - failed[0] < _RETRY_AFTER_FAILURE:
            return None
        self._dir.mkdir(parents=True, exist_ok=True)
        with (self._dir / f"{key_id.hex()}.lock").open("w") as lock:
            # One worker downloads. The others keep serving the index they hold (within the
            # staleness policy) instead of queueing behind a refresh that may take a minute at
            # 10M entries; only a worker with no index at all waits for it.
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | (fcntl.LOCK_NB if current else 0))
            except BlockingIOError:
                return None
            fresh = self._reopen(key_id)
            if fresh is not None and now < fresh.meta.next_update:
                return fresh
            try:
                der = self._fetcher.fetch_crl_by_key(key_id)
                meta = build_index(der, issuer, self._path(key_id), now=now,
                                   previous=current.meta if current else None)
            except (IdpError, OSError) as exc:
                self._failed[key_id] = (now, str(exc))
                return None
        if now >= meta.next_update:
            # J-LIS's publication is behind: keep what it sent (it may be newer than what we
            # had), but ask again only after the back-off, as after a failed download; else
            # every check would download and index the whole CRL again.
            self._failed[key_id] = (now, f"J-LIS's newest CRL expired at "
                                         f"{meta.next_update:%Y-%m-%d %H:%M} UTC")
        else:
            self._failed.pop(key_id, None)
        return self._reopen(key_id)
