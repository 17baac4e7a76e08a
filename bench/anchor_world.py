"""A benchmark world for the anchor re-check: CAs, anchored people, and 1M-entry CRL indexes.

The CAs are made with the simulator's issuing code (``trust/jlis_sim/issuing.py``: the real JPKI
profile), the CRLs are real signed DER CRLs written by ``bench.crl_index.signed_crl`` and turned
into index files by the IdP's own ``build_index``, into the instance's CRL cache, exactly where
``CrlSource`` looks. The people are rows the card onboarding would write: a private ID, its claims,
its anchor (the signing certificate) and its auth link (the auth certificate), so
``AnchorChecker.check`` checks two certificates, as after a card login.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from bench.crl_index import signed_crl
from idp import db
from idp.accounts.jpki_models import AuthLink, JpkiAnchor
from idp.accounts.models import AccountClaims, PrivateId
from idp.jpki.profile import Basic4Info, Purpose, Sex
from idp.jpki.revocation.crl import anchor_key_id, build_index
from idp.settings import Settings
from trust.jlis_sim.issuing import (
    CaGeneration,
    issue_auth_certificate,
    issue_sign_certificate,
    new_ca,
    new_rsa_key,
)

CLAIMS = {"name": "山田 太郎", "family_name": "山田", "given_name": "太郎",
          "birthdate": "1980-04-01", "gender": "male",
          "address": {"formatted": "東京都千代田区永田町1-7-1", "country": "JP"}}
INFO = Basic4Info(name="山田　太郎", birth_date=datetime(1980, 4, 1).date(), sex=Sex.MALE,
                  address="東京都千代田区永田町1-7-1")


@dataclass(frozen=True)
class World:
    settings: Settings
    private_ids: list[str]
    crl_seconds: float  # building both CRLs and their indexes


def settings_for(var_dir: Path, database_url: str, method: str = "crl",
                 jlis_url: str = "http://127.0.0.1:9", api_key: str = "bench-unused",
                 **extra: object) -> Settings:
    """Instance settings; with ``crl`` and fresh indexes J-LIS is never called (port 9 would
    refuse)."""
    policy = {"method": method}
    return Settings(var_dir=var_dir, database_url=database_url,
                    jlis={"url": jlis_url, "api_key": api_key},
                    trust={"sign": policy, "auth": policy}, **extra)  # type: ignore[arg-type]


def build_world(var_dir: Path, database_url: str, *, people: int, revoked: int,
                **extra: object) -> World:
    """CAs and trust anchors, ``revoked``-entry CRL indexes for both CAs, ``people`` anchored
    private IDs (none of them revoked); the database is migrated here."""
    now = datetime.now(UTC)
    sign_ca = new_ca(Purpose.SIGN, "bench", now - timedelta(days=365), now + timedelta(days=3650))
    auth_ca = new_ca(Purpose.AUTH, "bench", now - timedelta(days=365), now + timedelta(days=3650))
    for ca in (sign_ca, auth_ca):
        folder = var_dir / "trust" / ca.purpose.value
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "bench.pem").write_bytes(ca.certificate.public_bytes(Encoding.PEM))
    settings = settings_for(var_dir, database_url, **extra)
    rng = random.Random(revoked)
    started = time.perf_counter()
    for ca in (sign_ca, auth_ca):
        # Revoked serials below 2^40, the people's above: nobody benchmarked is on the CRL, so
        # every check reads the whole binary search path (a miss) and answers "current".
        serials = sorted(rng.sample(range(1, 1 << 40), revoked))
        der = signed_crl(serials, ca.certificate, ca.key, now=now - timedelta(minutes=1))
        build_index(der, ca.certificate,
                    settings.crl_cache_dir / f"{anchor_key_id(ca.certificate).hex()}.idx",
                    now=now)
    crl_seconds = time.perf_counter() - started
    db.upgrade(database_url)
    private_ids = _people(settings, sign_ca, auth_ca, people, now)
    return World(settings, private_ids, crl_seconds)


def _people(settings: Settings, sign_ca: CaGeneration, auth_ca: CaGeneration, count: int,
            now: datetime) -> list[str]:
    key = new_rsa_key().public_key()  # one key for all: key generation is not what is measured
    engine = db.make_engine(settings.database_url)
    private_ids = []
    try:
        with db.transaction(db.make_sessionmaker(engine)) as session:
            for number in range(count):
                serial = (1 << 41) + number
                subject = f"BENCH{number:08d}"
                window = {"not_before": now - timedelta(days=30),
                          "not_after": now + timedelta(days=1000), "urls": None}
                sign = issue_sign_certificate(sign_ca, key, serial=serial, info=INFO,
                                              prefecture="東京都", city="千代田区",
                                              subject_id=subject, **window)  # type: ignore[arg-type]
                auth = issue_auth_certificate(auth_ca, key, serial=serial, subject_id=subject,
                                              **window)  # type: ignore[arg-type]
                person = PrivateId()
                session.add(person)
                session.flush()
                session.add(AccountClaims(private_id=person.id, claims=CLAIMS))
                session.add(JpkiAnchor(
                    private_id=person.id, issuer_dn=sign.issuer.rfc4514_string(),
                    issuer_key_id=anchor_key_id(sign_ca.certificate).hex(),
                    serial_hex=f"{serial:x}", certificate=sign.public_bytes(Encoding.DER),
                    state="current", last_checked_at=now, last_result="sign_good"))
                session.add(AuthLink(serial_hex=f"{serial:x}", private_id=person.id,
                                     issuer_dn=auth.issuer.rfc4514_string(),
                                     certificate=auth.public_bytes(Encoding.DER),
                                     via="card_login"))
                private_ids.append(person.id)
    finally:
        engine.dispose()
    return private_ids
