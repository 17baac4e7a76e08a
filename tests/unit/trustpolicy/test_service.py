"""The trust policy service: the first version from the settings, validated changes (refused
whole, nothing changed), versions with who/when/why and a diff, history, rollback, and two
writers that never record the same version number (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from idp.jpki.profile import Purpose
from idp.settings import Settings
from idp.trustpolicy.document import TrustPolicyConflictError, TrustPolicyError, describe_change
from idp.trustpolicy.models import TrustPolicyVersion
from idp.trustpolicy.service import SHIPPED_ANCHORS_DIR, TrustPolicyService
from tests.support import jpki_pki as pki
from tests.support import schema
from tests.unit.trustpolicy.conftest import pem

ACTOR = "cli:tester"


def test_the_first_version_is_what_the_instance_used(service: TrustPolicyService) -> None:
    first = service.current()
    assert (first.version, first.actor, first.rollback_of) == (1, "settings", None)
    policy = first.policy
    assert policy.revocation["sign"].method == "ocsp"
    assert (policy.revocation["auth"].method,
            policy.revocation["auth"].max_crl_staleness_seconds) == ("crl", 60)
    trusted = {(a.purpose, a.medium, a.generation) for a in policy.enabled()}
    assert trusted == {("sign", "card", "2023"), ("auth", "card", "2023")}
    shipped = [a for a in policy.anchors if a.source.startswith(str(SHIPPED_ANCHORS_DIR))]
    assert sorted((a.purpose, a.generation) for a in shipped) == [
        ("auth", "2015"), ("auth", "2023"), ("sign", "2015"), ("sign", "2023")]
    assert not any(a.enabled for a in shipped)  # the real J-LIS CAs: listed, not trusted
    assert policy.media["smartphone"].max_ial == 2
    assert policy.reasons.card_revocation["affiliationChanged"] == "closed"
    assert service.current_version() == 1
    assert service.current().version == 1  # seeded once


@pytest.mark.parametrize(("key", "value", "says"), [
    ("revocation.sign.method", "carrier_pigeon", "revocation.sign.method"),
    ("revocation.auth.max_crl_staleness_seconds", -1, "greater than or equal to 0"),
    ("revocation.sign.max_ocsp_age_seconds", "soon", "revocation.sign.max_ocsp_age_seconds"),
    ("revocation.both.method", "ocsp", "unknown trust policy key"),
    ("media.tablet.max_ial", 1, "unknown trust policy key"),
    ("media.smartphone.max_ial", 3, "media.smartphone.max_ial"),
    ("reasons.card_revocation.lostInTheMail", "closed", "unknown revocation reason"),
    ("reasons.card_revocation.certificateHold", "deleted", "card_revocation"),
    ("reasons.reissue_reasons", "superseded,movedHouse", "unknown revocation reason"),
    ("revocation.sign", "ocsp", "a group of settings"),
    ("anchors", "[]", "idp trust anchors"),
    ("", "x", "unknown trust policy key"),
])
def test_an_invalid_change_is_refused_and_changes_nothing(
        service: TrustPolicyService, key: str, value: object, says: str) -> None:
    before = service.current()
    with pytest.raises(TrustPolicyError, match=says):
        service.set(key, value, actor=ACTOR)
    assert service.current_version() == before.version
    assert service.current().policy == before.policy


def _leaf(ca: bool, cert_sign: bool) -> bytes:
    key = pki.key("not-a-ca")
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "not a CA")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(7)
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, cert_sign, False, False,
                                     False), critical=True)
        .sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize(("data", "options", "says"), [
    (b"hello", {}, "not an X.509 certificate"),
    (pki.der(pki.sign_cert()), {}, "cA false"),  # a card's certificate
    (_leaf(ca=True, cert_sign=False), {}, "keyCertSign"),
    (_leaf(ca=False, cert_sign=True), {}, "not a CA certificate"),
    (pem(Purpose.SIGN, "2027"), {"purpose": "signing"}, "unknown purpose"),
    (pem(Purpose.SIGN, "2027"), {"medium": "tablet"}, "unknown medium"),
    (pem(Purpose.SIGN, "2027"), {"generation": "20 27"}, "generation"),
])
def test_a_file_that_is_not_a_ca_is_refused(service: TrustPolicyService, data: bytes,
                                            options: dict[str, str], says: str) -> None:
    before = service.current()
    kwargs: dict[str, str] = {"purpose": "sign", **options}
    with pytest.raises(TrustPolicyError, match=says):
        service.add_anchor(data, actor=ACTOR, **kwargs)  # type: ignore[arg-type]
    assert service.current_version() == before.version


def test_each_change_is_a_version_with_who_when_why_and_a_diff(
        service: TrustPolicyService) -> None:
    service.current()
    second = service.set("revocation.sign.max_crl_staleness_seconds", "600", actor=ACTOR,
                         reason="CRL refresh takes a minute at 10M entries")
    assert (second.version, second.actor) == (2, ACTOR)
    assert second.reason == "CRL refresh takes a minute at 10M entries"
    assert abs((datetime.now(UTC) - second.created_at).total_seconds()) < 60
    assert [dict(c) for c in second.diff] == [
        {"path": "revocation.sign.max_crl_staleness_seconds", "from": 0, "to": 600}]
    assert describe_change(second.diff[0]) == \
        "revocation.sign.max_crl_staleness_seconds: 0 → 600"
    third = service.set("sign.fail_closed", "false", actor="admin:42")  # settings-style key
    assert third.policy.revocation["sign"].fail_closed is False
    assert third.reason == "set sign.fail_closed"
    with pytest.raises(TrustPolicyError, match="nothing to change"):
        service.set("revocation.sign.fail_closed", False, actor=ACTOR)
    history = service.history()
    assert [v.version for v in history] == [3, 2, 1]
    assert [v.actor for v in history] == ["admin:42", ACTOR, "settings"]


def test_anchors_are_added_retired_and_enabled_by_generation(
        service: TrustPolicyService) -> None:
    added = service.add_anchor(pem(Purpose.SIGN, "2027"), purpose="sign", generation="2027",
                               actor=ACTOR, source="sign_2027.pem")
    entry = next(a for a in added.policy.anchors if a.generation == "2027")
    assert (entry.purpose, entry.medium, entry.enabled) == ("sign", "card", True)
    assert service.certificate_der(entry.fingerprint) == pki.der(
        pki.ca(Purpose.SIGN, "2027").certificate)
    assert next(c["path"] for c in added.diff if c["to"] is not None).startswith(
        f"anchors[sign/card/2027/{entry.fingerprint[:12]}]")
    retired = service.retire(purpose="sign", medium="card", generation="2023", actor=ACTOR,
                             reason="key ceremony")
    sign = {a.generation: a.enabled for a in retired.policy.anchors
            if a.purpose == "sign" and a.medium == "card" and "jpki_ca" not in a.source}
    assert sign == {"2023": False, "2027": True}
    assert all(c["path"].endswith(".enabled") for c in retired.diff)
    with pytest.raises(TrustPolicyError, match="nothing to change"):
        service.enable(fingerprint=entry.fingerprint[:16], actor=ACTOR)  # already enabled
    back = service.enable(purpose="sign", generation="2023", medium="card", actor=ACTOR)
    assert all(a.enabled for a in back.policy.anchors
               if a.purpose == "sign" and "jpki_ca" not in a.source)
    with pytest.raises(TrustPolicyError, match="no trust anchor matches"):
        service.retire(purpose="auth", generation="1999", actor=ACTOR)
    with pytest.raises(TrustPolicyError, match="name the CA"):
        service.retire(actor=ACTOR)


def test_rollback_makes_an_earlier_version_current_as_a_new_one(
        service: TrustPolicyService) -> None:
    first = service.current()
    service.set("revocation.auth.method", "ocsp_then_crl", actor=ACTOR)
    service.retire(purpose="auth", generation="2023", actor=ACTOR)
    back = service.rollback(1, actor="admin:7", reason="undo")
    assert (back.version, back.rollback_of, back.actor) == (4, 1, "admin:7")
    assert back.policy == first.policy
    assert {c["path"].rsplit(".", 1)[-1] for c in back.diff} == {"method", "enabled"}
    with pytest.raises(TrustPolicyError, match="nothing to change"):
        service.rollback(4, actor=ACTOR)
    with pytest.raises(TrustPolicyError, match="no trust policy version 9"):
        service.rollback(9, actor=ACTOR)


def test_a_whole_document_replaces_the_policy_against_the_version_read(
        service: TrustPolicyService) -> None:
    current = service.current()
    document = current.policy.as_json()
    document["media"]["smartphone"]["max_ial"] = 1
    replaced = service.replace(document, actor="admin:1", reason="phones at IAL1",
                               expected_version=current.version)
    assert replaced.policy.media["smartphone"].max_ial == 1
    with pytest.raises(TrustPolicyConflictError, match="version 2, not 1"):
        service.replace(document, actor="admin:1", reason="stale", expected_version=1)
    document["anchors"][0]["subject"] = "CN=Not what the certificate says"
    document["anchors"][0]["enabled"] = not document["anchors"][0]["enabled"]
    toggled = service.replace(document, actor="admin:1", reason="toggle one")
    assert [c["path"].rsplit(".", 1)[1] for c in toggled.diff] == ["enabled"]  # facts kept
    document = toggled.policy.as_json()
    document["revocation"]["sign"]["method"] = "smoke_signals"
    with pytest.raises(TrustPolicyError, match=r"revocation\.sign\.method"):
        service.replace(document, actor="admin:1", reason="bad")
    document["revocation"]["sign"]["method"] = "crl"
    document["anchors"][0]["fingerprint"] = "0" * 64
    with pytest.raises(TrustPolicyError, match="unknown CA certificate"):
        service.replace(document, actor="admin:1", reason="bad")
    with pytest.raises(TrustPolicyError, match="actor"):
        service.set("revocation.sign.method", "crl", actor=" ")
    assert service.current_version() == 3


def test_two_writers_never_record_the_same_version(
        instance: Settings, sessions: sessionmaker[Session]) -> None:
    """Writers in threads, each with its own service (as two workers would be), each setting a
    different value: every change is recorded once, under its own number, none lost."""
    TrustPolicyService(sessions, instance).current()
    writers, errors = 6, []
    barrier = threading.Barrier(writers)

    def write(number: int) -> None:
        service = TrustPolicyService(sessions, instance)
        barrier.wait()
        try:
            service.set("revocation.sign.max_ocsp_age_seconds", 1000 + number,
                        actor=f"cli:writer{number}")
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with sessions() as db:
        rows = db.execute(select(TrustPolicyVersion.version, TrustPolicyVersion.actor)
                          .order_by(TrustPolicyVersion.version)).all()
    assert [row.version for row in rows] == list(range(1, writers + 2))
    assert sorted(row.actor for row in rows[1:]) == sorted(f"cli:writer{n}"
                                                           for n in range(writers))


def test_concurrent_first_reads_seed_one_version(
        instance: Settings, sessions: sessionmaker[Session]) -> None:
    readers = 4
    barrier = threading.Barrier(readers)
    seen: list[int] = []

    def read() -> None:
        service = TrustPolicyService(sessions, instance)
        barrier.wait()
        seen.append(service.current().version)

    threads = [threading.Thread(target=read) for _ in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [1] * readers
    with sessions() as db:
        assert db.execute(select(TrustPolicyVersion.version)).scalars().all() == [1]


def test_the_migration_makes_the_tables_the_models_describe(database_url: str) -> None:
    assert schema.differences(database_url, "trust_policy_versions") == []
    assert schema.differences(database_url, "trust_ca_certificates") == []
