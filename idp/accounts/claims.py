"""Where the OIDC layer reads a person's claims: a Protocol, a database source, a fake.

``claims_for`` answers the standard claims; ``verification_for`` the JPKI verification behind
them (``verified_claims``, ``age_over_N``): only for a current anchor, never for stored claims.
``along`` lets a statement that already knows the person (userinfo's read of its access token)
read the claims too, in the same round trip: the same columns ``claims_for`` reads alone.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Engine, String, bindparam, select
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

    def along(self, private_id: ColumnElement[str]) -> ClaimsAlong:
        """What a statement whose rows know the person (``private_id``, a column of it) adds to
        answer ``claims_for`` without a statement of its own."""
        ...

    def __hash__(self) -> int:  # a source is built once per app: statements are made for it
        ...


@dataclass(frozen=True)
class ClaimsAlong:
    """``columns`` to add to a statement (correlated to its person's id), and ``claims``: what
    ``claims_for`` answers from their values (``claims(values, proven)``)."""

    columns: tuple[ColumnElement[Any], ...]
    claims: Callable[[Sequence[Any], bool], Mapping[str, Any]]


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

    def along(self, private_id: ColumnElement[str]) -> ClaimsAlong:
        return ClaimsAlong((_stored_claims(private_id),), lambda values, _: _stored(values[0]))


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

    def claims_for(self, private_id: str, *, proven: bool) -> Mapping[str, Any]:
        """The live anchor's state, the current 4 info and the stored claims in one prepared
        statement (``_claims_statement``), in autocommit. Userinfo reads the same columns with
        its access token (``along``)."""
        found = read_one(self._engine, _claims_statement(), {"private_id": private_id})
        return self._claims_of(found or (None, None, None), proven)

    def along(self, private_id: ColumnElement[str]) -> ClaimsAlong:
        return ClaimsAlong((*_live_claims(private_id), _stored_claims(private_id)),
                           self._claims_of)

    @staticmethod
    def _claims_of(values: Sequence[Any], proven: bool) -> Mapping[str, Any]:
        """From the live anchor's state, the current 4 info (``_live_claims``) and the stored
        claims: without a live anchor, the stored ones (a private ID never anchored)."""
        state, basic4, stored = values
        if state is None:
            return _stored(stored)
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


def _live_claims(private_id: ColumnElement[str]) -> tuple[ColumnElement[Any], ...]:
    """The live anchor's state (``anchors.live_anchor``; NULL without one) and the current 4 info
    (``anchors.current_basic4``) of ``private_id``, as two columns of any statement."""
    from idp.accounts.jpki_models import Basic4Record, JpkiAnchor

    state = (select(JpkiAnchor.state)
             .where(JpkiAnchor.private_id == private_id, JpkiAnchor.superseded_by.is_(None))
             .order_by(JpkiAnchor.id.desc()).limit(1).scalar_subquery())
    basic4 = (select(Basic4Record.basic4)
              .where(Basic4Record.private_id == private_id, Basic4Record.current.is_(True))
              .order_by(Basic4Record.id.desc()).limit(1).scalar_subquery())
    return state.label("anchor_state"), basic4.label("basic4")


def _stored_claims(private_id: ColumnElement[str]) -> ColumnElement[Any]:
    """``private_id``'s stored claims (``account_claims``), as a column of any statement."""
    return select(AccountClaims.claims).where(AccountClaims.private_id == private_id) \
        .scalar_subquery().label("stored_claims")


def _stored(claims: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(claims) if claims else {}


@functools.cache
def _claims_statement() -> Prepared:
    """``_live_claims`` and ``_stored_claims`` of ``:private_id``, alone (one row, always).
    Built once."""
    person = bindparam("private_id", type_=String())
    return Prepared(select(*_live_claims(person), _stored_claims(person)))


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
