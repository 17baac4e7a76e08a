"""Migration 0009 gives every stored anchor its notAfter and every auth link with a certificate
its CA key id and notAfter, read from the certificates already stored; new rows get them when
written (``idp recheck`` reads these columns instead of parsing a million certificates)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from idp import db
from idp.accounts import anchors
from idp.accounts.jpki_models import AuthLink, JpkiAnchor
from idp.jpki.anchors import anchor_from_certificate
from idp.jpki.certificate import parse_certificate
from idp.jpki.profile import Purpose
from idp.jpki.revocation.crl import anchor_key_id
from idp.jpki.validation import VerifiedCertificate
from tests.support import jpki_pki as pki
from tests.support import schema


def test_the_upgrade_fills_validity_and_issuer_from_stored_certificates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'idp.sqlite3'}"
    db.upgrade(url, "0008_failed_attempts")
    sign, auth = pki.sign_cert(serial=0x51), pki.auth_cert(serial=0x52)
    engine = db.make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO private_ids (id, created_at, state) VALUES "
                                       "('pid_1', '2026-01-01', 'active')"))
            connection.execute(sa.text(
                "INSERT INTO anchors (private_id, issuer_dn, issuer_key_id, serial_hex, "
                "certificate, state, created_at) VALUES ('pid_1', 'CN=x', '00', '51', :der, "
                "'current', '2026-01-01')"), {"der": pki.der(sign)})
            connection.execute(sa.text(
                "INSERT INTO auth_links (serial_hex, private_id, certificate, via, linked_at) "
                "VALUES ('52', 'pid_1', :der, 'card_login', '2026-01-01'), "
                "('53', 'pid_1', NULL, 'jlis_pair', '2026-01-01')"), {"der": pki.der(auth)})
        db.upgrade(url)
        sessions = db.make_sessionmaker(engine)
        with sessions() as session:
            anchor = session.scalars(sa.select(JpkiAnchor)).one()
            with_certificate, bare = session.get(AuthLink, "52"), session.get(AuthLink, "53")
        assert anchor.not_after == int(sign.not_valid_after_utc.timestamp())
        assert with_certificate is not None
        assert bare is not None
        auth_ca = anchor_key_id(pki.ca(Purpose.AUTH).certificate)
        assert with_certificate.issuer_key_id == auth_ca.hex()
        assert with_certificate.not_after == int(auth.not_valid_after_utc.timestamp())
        assert (bare.issuer_key_id, bare.not_after) == (None, None)
    finally:
        engine.dispose()
    assert schema.differences(url, "anchors") == []
    assert schema.differences(url, "auth_links") == []
    assert schema.differences(url, "recheck_runs") == []


def test_new_anchors_and_auth_links_record_validity_and_issuer(
        sessions: sessionmaker[Session]) -> None:
    sign = parse_certificate(pki.der(pki.sign_cert(serial=0x61)))
    auth = parse_certificate(pki.der(pki.auth_cert(serial=0x62)))
    verified = VerifiedCertificate(sign, anchor_from_certificate(
        Purpose.SIGN, pki.ca(Purpose.SIGN).certificate), pki.NOW)
    with db.transaction(sessions) as session:
        person = anchors.new_person(session)
        anchor = anchors.add_anchor(session, person.id, verified)
        anchors.link_auth(session, person.id, auth.serial_hex, via="card_login",
                          certificate=auth)
        session.flush()
        link = session.get(AuthLink, auth.serial_hex)
        assert anchor.not_after == int(sign.not_after.timestamp())
        assert link is not None
        assert (link.issuer_key_id, link.not_after) == (
            anchor_key_id(pki.ca(Purpose.AUTH).certificate).hex(),
            int(auth.not_after.timestamp()))
