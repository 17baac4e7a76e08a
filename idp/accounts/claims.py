"""Where the OIDC layer reads a person's claims: a Protocol, a database source, a fake.

The next issue fills claims from the verified 4 info of the JPKI anchor; ``verified_claims``
(OpenID Connect for Identity Assurance) and ``age_over_N`` will come through the same door.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from idp.accounts.models import AccountClaims


class ClaimsSource(Protocol):
    def claims_for(self, private_id: str) -> Mapping[str, Any]:
        """Standard claims (OIDC Core §5.1) of ``private_id``; missing ones are absent."""
        ...


class DbClaimsSource:
    """Claims stored in ``account_claims``."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def claims_for(self, private_id: str) -> Mapping[str, Any]:
        with self._sessions() as session:
            row = session.get(AccountClaims, private_id)
            return dict(row.claims) if row else {}


_GENDER = {"1": "male", "2": "female"}  # 3 (unknown) is not sent


class JpkiClaimsSource:
    """Claims from the current 4 info, only while the anchor is current.

    When the anchor is not current (re-issue needed, suspended, unverifiable) the identity claims
    are withheld: the relying party receives none of name, birthdate, gender and address, and
    the ``acr`` of the session says ``ial1-aal2`` (docs/assurance.md). A private ID without a
    JPKI anchor keeps its stored claims (``DbClaimsSource``).
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._stored = DbClaimsSource(sessions)

    def claims_for(self, private_id: str) -> Mapping[str, Any]:
        from idp.accounts import anchors

        with self._sessions() as session:
            anchor = anchors.live_anchor(session, private_id)
            if anchor is None:
                return self._stored.claims_for(private_id)
            record = anchors.current_basic4(session, private_id)
            if anchor.state != "current" or record is None:
                return {}
            return basic4_claims(record.basic4)


def basic4_claims(info: Mapping[str, Any]) -> dict[str, Any]:
    claims: dict[str, Any] = {"name": info["name"],
                              "address": {"formatted": info["address"], "country": "JP"}}
    family, _, given = str(info["name"]).partition("\u3000")
    if given:
        claims.update(family_name=family, given_name=given)
    if info.get("birth_date"):
        claims["birthdate"] = info["birth_date"]
    if info.get("sex") in _GENDER:
        claims["gender"] = _GENDER[info["sex"]]
    return claims
