"""A benchmark world for ``idp recheck``: a million anchored people, 1M-entry CRLs, consents.

Built fast, not through the card steps: the rows onboarding and a card login write (a private ID,
its anchor with the migration-0009 columns, its auth link), inserted in bulk. Every anchor's
``certificate`` column holds the same real certificate of the bench CA (issuing a million would
take hours of RSA signing): the rows have their real size (~1.5 KB; 2 GB in all), which is
what makes reading or rewriting them slow, while the batch reads serial, CA key id and
notAfter from the covering index and never parses a certificate. The CRLs are real signed DER
CRLs (``bench.crl_index``) turned into index files by the IdP's own ``build_index``, where
``CrlSource`` looks for them.

``changed`` people are on the CRLs: half moved (signing certificate revoked, affiliationChanged:
re-issue needed), half lost their card (both certificates on hold: suspended). Every person
consented to the relying party ``bank`` (a push stream); the changed ones also to ``shop`` (a
poll stream) and ``forum`` (no stream: it hears nothing).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import Table, insert
from sqlalchemy.engine import Engine

from bench.anchor_world import INFO, settings_for
from bench.crl_index import signed_crl
from idp import db
from idp.accounts.jpki_models import AuthLink, JpkiAnchor
from idp.accounts.models import PrivateId
from idp.events.context import POLL, PUSH
from idp.events.models import Stream
from idp.events.vocabulary import SUPPORTED
from idp.jpki.profile import Purpose
from idp.jpki.revocation.crl import anchor_key_id, build_index
from idp.oidc import clients
from idp.oidc.models import Consent
from idp.settings import Settings
from trust.jlis_sim.issuing import (
    CaGeneration,
    issue_auth_certificate,
    issue_sign_certificate,
    new_ca,
    new_rsa_key,
)

FIRST_SERIAL = 1 << 41  # the people's serials; the CRLs' other entries lie below 2^40
BATCH = 20_000
# bench.crl_index.signed_crl gives serial s the reason of index s % 5 in (keyCompromise,
# affiliationChanged, superseded, cessationOfOperation, certificateHold)
MOVED_REMAINDER, LOST_REMAINDER = 1, 4
CLAIMS = ("name", "family_name", "given_name", "birthdate", "gender", "address")


@dataclass(frozen=True)
class World:
    settings: Settings
    anchors: int
    moved: list[int]  # person numbers
    lost: list[int]
    crl_seconds: float
    rows_seconds: float

    def private_id(self, number: int) -> str:
        return private_id(number)


def private_id(number: int) -> str:
    return f"pid_bench{number:016d}"


def build_world(var_dir: Path, database_url: str, *, anchors: int, revoked: int,
                changed: int) -> World:
    now = datetime.now(UTC)
    cas = {purpose: new_ca(purpose, "bench", now - timedelta(days=365),
                           now + timedelta(days=3650)) for purpose in Purpose}
    for ca in cas.values():
        folder = var_dir / "trust" / ca.purpose.value
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "bench.pem").write_bytes(ca.certificate.public_bytes(Encoding.PEM))
    settings = settings_for(var_dir, database_url)
    moved, lost = _changed(anchors, changed)
    started = time.perf_counter()
    rng = random.Random(revoked)
    _crl(settings, cas[Purpose.SIGN], rng, revoked, [*moved, *lost], now)
    _crl(settings, cas[Purpose.AUTH], rng, revoked, lost, now)
    crl_seconds = time.perf_counter() - started
    db.upgrade(database_url)
    started = time.perf_counter()
    _rows(settings, cas, anchors, now)
    _relying_parties(settings, anchors, [*moved, *lost], now)
    return World(settings, anchors, moved, lost, crl_seconds, time.perf_counter() - started)


def _changed(anchors: int, changed: int) -> tuple[list[int], list[int]]:
    """Person numbers whose serial gives the moved or the lost reason on the CRL."""
    def numbers(remainder: int) -> Iterator[int]:
        start = (remainder - FIRST_SERIAL) % 5
        return iter(range(start, anchors, 5 * max(1, anchors // (5 * max(1, changed)))))

    moved = [n for _, n in zip(range(changed // 2), numbers(MOVED_REMAINDER), strict=False)]
    lost = [n for _, n in zip(range(changed - len(moved)), numbers(LOST_REMAINDER),
                              strict=False)]
    return moved, lost


def _crl(settings: Settings, ca: CaGeneration, rng: random.Random, size: int,
         listed: Sequence[int], now: datetime) -> None:
    serials = sorted([*rng.sample(range(1, 1 << 40), size - len(listed)),
                      *(FIRST_SERIAL + n for n in listed)])
    der = signed_crl(serials, ca.certificate, ca.key, now=now - timedelta(minutes=1))
    build_index(der, ca.certificate,
                settings.crl_cache_dir / f"{anchor_key_id(ca.certificate).hex()}.idx", now=now)


def _certificates(cas: dict[Purpose, CaGeneration], now: datetime) -> dict[Purpose, bytes]:
    key = new_rsa_key().public_key()
    window: dict[str, Any] = {"not_before": now - timedelta(days=30),
                              "not_after": now + timedelta(days=1000), "urls": None}
    sign = issue_sign_certificate(cas[Purpose.SIGN], key, serial=FIRST_SERIAL, info=INFO,
                                  prefecture="東京都", city="千代田区", subject_id="BENCH",
                                  **window)
    auth = issue_auth_certificate(cas[Purpose.AUTH], key, serial=FIRST_SERIAL,
                                  subject_id="BENCH", **window)
    return {Purpose.SIGN: sign.public_bytes(Encoding.DER),
            Purpose.AUTH: auth.public_bytes(Encoding.DER)}


def _rows(settings: Settings, cas: dict[Purpose, CaGeneration], anchors: int,
          now: datetime) -> None:
    keys = {purpose: anchor_key_id(ca.certificate).hex() for purpose, ca in cas.items()}
    der = _certificates(cas, now)
    issuer = cas[Purpose.SIGN].certificate.subject.rfc4514_string()
    not_after = int((now + timedelta(days=1000)).timestamp())
    engine = db.make_engine(settings.effective_database_url)
    try:
        tables = [PrivateId.__table__, JpkiAnchor.__table__, AuthLink.__table__]
        for start in range(0, anchors, BATCH):
            numbers = range(start, min(start + BATCH, anchors))
            _insert(engine, tables, [
                [{"id": private_id(n), "created_at": now, "state": "active"} for n in numbers],
                [{"private_id": private_id(n), "issuer_dn": issuer,
                  "issuer_key_id": keys[Purpose.SIGN], "serial_hex": f"{FIRST_SERIAL + n:x}",
                  "certificate": der[Purpose.SIGN], "state": "current", "last_checked_at": now,
                  "last_result": "sign_good", "created_at": now, "not_after": not_after}
                 for n in numbers],
                [{"serial_hex": f"{FIRST_SERIAL + n:x}", "private_id": private_id(n),
                  "issuer_dn": issuer, "certificate": der[Purpose.AUTH], "via": "card_login",
                  "linked_at": now, "issuer_key_id": keys[Purpose.AUTH],
                  "not_after": not_after} for n in numbers]])
    finally:
        engine.dispose()


def _insert(engine: Engine, tables: list[Any], rows: list[list[dict[str, Any]]]) -> None:
    with engine.begin() as connection:
        for table, values in zip(tables, rows, strict=True):
            found: Table = table
            connection.execute(insert(found), values)


def _relying_parties(settings: Settings, anchors: int, changed: list[int],
                     now: datetime) -> None:
    """bank (push stream) used by everyone; shop (poll stream) and forum (no stream) by the
    changed people; each consented to the whole profile."""
    engine = db.make_engine(settings.effective_database_url)
    issued = int(now.timestamp())
    consented = {"approved": list(CLAIMS), "decided": list(CLAIMS)}
    try:
        with db.transaction(db.make_sessionmaker(engine)) as session:
            ids = {name: clients.register(session, name=name,
                                          redirect_uris=[f"https://{name}.example/cb"])[0]
                   for name in ("bank", "shop", "forum")}
            for name, method, url in (("bank", PUSH, "https://bank.example/ssf"),
                                      ("shop", POLL, None)):
                session.add(Stream(stream_id=f"stream-{name}", client_id=ids[name],
                                   events_delivered=list(SUPPORTED), method=method,
                                   endpoint_url=url, status="enabled", failures=0,
                                   next_push_at=0.0, created_at=issued, updated_at=issued))
        table = Consent.__table__
        for start in range(0, anchors, BATCH):
            _insert(engine, [table], [[
                {"private_id": private_id(n), "client_id": ids["bank"], "claims": consented,
                 "given_at": issued} for n in range(start, min(start + BATCH, anchors))]])
        _insert(engine, [table, table], [
            [{"private_id": private_id(n), "client_id": ids[name], "claims": consented,
              "given_at": issued} for n in changed] for name in ("shop", "forum")])
    finally:
        engine.dispose()
