"""Anchor a test person to a JPKI signing certificate, straight into the database (as
``accounts.anchors.add_anchor`` leaves it after a card onboarding), with chosen 4 info."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask

from idp import db
from idp.accounts.jpki_models import Basic4Record, JpkiAnchor
from idp.app import services_of

CA = "OU=Japan Agency for Local Authority Information Systems,OU=JPKI for digital signature," \
     "O=JPKI,C=JP"  # RFC 4514, as JpkiCertificate.issuer_dn writes it
BASIC4 = {"name": "山田\u3000太郎", "birth_date": "1980-04-01", "birth_date_code": "319800401",
          "sex": "1", "address": "東京都千代田区永田町1-7-1", "name_substitutes": "",
          "address_substitutes": ""}


def anchor(app: Flask, private_id: str, *, state: str = "current", serial: str = "0a1b2c3d",
           checked_at: datetime | None = None, **basic4: str | None) -> None:
    checked = checked_at or datetime.now(UTC)
    with db.transaction(services_of(app).sessions) as session:
        session.add(JpkiAnchor(private_id=private_id, issuer_dn=CA, issuer_key_id="00",
                               serial_hex=serial, certificate=b"\x30\x00", state=state,
                               last_checked_at=checked, last_result="sign_good",
                               created_at=datetime(2026, 1, 10, 9, 30, tzinfo=UTC)))
        session.add(Basic4Record(private_id=private_id, basic4={**BASIC4, **basic4},
                                 source="certificate", anchor_serial=serial, current=True))
