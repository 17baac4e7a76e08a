"""Where the OIDC layer reads a person's claims: a Protocol, a database source, a fake.

``claims_for`` answers the standard claims; ``verification_for`` the JPKI verification behind
them (``verified_claims``, ``age_over_N``): only for a current anchor, never for stored claims.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from idp.accounts.models import AccountClaims
from idp.prepared import Prepared, read_one


class ClaimsSource(Protocol):
    def claims_for(self, private_id: str, *, proven: bool) -> Mapping[str, Any]:
        """Standard claims (OIDC Core §5.1) of ``private_id``; missing ones are absent. With
        ``proven`` false (the session's acr proved no identity), none drawn from a verified
        source."""
        ...

    def verification_for(self, private_id: str) -> Verification | None:
        """The 4 info as verified through the current JPKI anchor, or None (no anchor, or an
        anchor that is not current)."""
        ...


@dataclass(frozen=True)
class Verification:
    """How ``claims`` were verified: the signing certificate the person was anchored to (its
    issuer's name and serial), when it was anchored, and when it was last checked."""

    claims: Mapping[str, Any]
    issuer: str
    serial_hex: str
    anchored_at: datetime
    checked_at: datetime | None


class DbClaimsSource:
    """Claims stored in ``account_claims``."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def claims_for(self, private_id: str, *, proven: bool) -> Mapping[str, Any]:
        with self._sessions() as session:  # stored claims were never verified: ``proven`` moot
            row = session.get(AccountClaims, private_id)
            return dict(row.claims) if row else {}

    def verification_for(self, private_id: str) -> Verification | None:
        return None  # stored claims were not verified


_GENDER = {"1": "male", "2": "female"}  # 3 (unknown) is not sent


class JpkiClaimsSource:
    """Claims from the current 4 info, only while the anchor is current.

    When the anchor is not current (re-issue needed, suspended, unverifiable), or the session
    proved no identity (``proven`` false: e.g. the trust policy holds the anchor's medium to
    IAL1, ``media.<medium>.max_ial``), the identity claims are withheld: the relying party
    receives none of name, birthdate, gender and address, and the ``acr`` of the session says
    ``ial1-aal2`` (docs/assurance.md). A private ID without a
    JPKI anchor keeps its stored claims (``DbClaimsSource``).
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._engine: Engine = sessions.kw["bind"]  # claims_for is one SELECT (read_one)
        self._stored = DbClaimsSource(sessions)

    def claims_for(self, private_id: str, *, proven: bool) -> Mapping[str, Any]:
        """At every userinfo and ID token: the live anchor's state and the current 4 info in
        one prepared statement (``_claims_statement``), in autocommit."""
        found = read_one(self._engine, _claims_statement(), {"private_id": private_id})
        if found is None:
            return self._stored.claims_for(private_id, proven=proven)
        state, basic4 = found
        if state != "current" or basic4 is None or not proven:
            return {}
        return basic4_claims(basic4)

    def verification_for(self, private_id: str) -> Verification | None:
        from idp.accounts import anchors

        with self._sessions() as session:
            anchor = anchors.live_anchor(session, private_id)
            record = anchors.current_basic4(session, private_id) if anchor else None
            if anchor is None or anchor.state != "current" or record is None:
                return None
            return Verification(basic4_claims(record.basic4), anchor.issuer_dn,
                                anchor.serial_hex, anchor.created_at, anchor.last_checked_at)


@functools.cache
def _claims_statement() -> Prepared:
    """The live anchor's state (``anchors.live_anchor``) with the current 4 info
    (``anchors.current_basic4``) of ``:private_id``; no row without a live anchor. Built once."""
    from sqlalchemy import String, bindparam, select

    from idp.accounts.jpki_models import Basic4Record, JpkiAnchor

    person = bindparam("private_id", type_=String())
    basic4 = (select(Basic4Record.basic4)
              .where(Basic4Record.private_id == person, Basic4Record.current.is_(True))
              .order_by(Basic4Record.id.desc()).limit(1).scalar_subquery())
    return Prepared(select(JpkiAnchor.state, basic4.label("basic4"))
                    .where(JpkiAnchor.private_id == person, JpkiAnchor.superseded_by.is_(None))
                    .order_by(JpkiAnchor.id.desc()).limit(1))


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
