"""Authenticate a browser in tests: a login session written straight into the database.

The card and passkeys (the only ways to log in) arrive with the next issue; until then, and in
unit tests afterwards, this helper stands in for them. It is test code only: no route or
setting of the IdP can do this.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from idp import db
from idp.accounts import sessions
from idp.accounts.models import AccountClaims, PrivateId
from idp.app import services_of
from idp.assurance.levels import IAL2_AAL2

DEMO_CLAIMS = {"name": "山田 太郎", "family_name": "山田", "given_name": "太郎",
               "birthdate": "1980-04-01", "gender": "male",
               "address": {"formatted": "東京都千代田区永田町1-7-1", "country": "JP"}}


def login_session(app: Flask, *, private_id: str | None = None, acr: str = IAL2_AAL2.value,
                  amr: tuple[str, ...] = ("hwk", "pin", "mfa"),
                  claims: dict[str, Any] | None = None, now: int | None = None) -> \
        tuple[str, str]:
    """Create (or reuse) a private ID and a login session; returns (private_id, cookie)."""
    factory = services_of(app).sessions
    lifetime = services_of(app).settings.oidc.session_lifetime_seconds
    with db.transaction(factory) as session:
        person = session.get(PrivateId, private_id) if private_id else None
        if person is None:
            person = PrivateId(**({"id": private_id} if private_id else {}))
            session.add(person)
            session.flush()
            session.add(AccountClaims(private_id=person.id,
                                      claims=DEMO_CLAIMS if claims is None else claims))
        active = sessions.start(session, private_id=person.id, acr=acr, amr=list(amr),
                                lifetime=lifetime, now=now)
        pid = person.id
    secret = services_of(app).oidc.cookie_secret
    return pid, sessions.cookie_value(secret, active.id)
