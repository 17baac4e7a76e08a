"""The token endpoint's SQL: Core statements built once, writes before reads.

Every transaction here starts with its write. Under SQLite's WAL a transaction that reads first
and writes later fails at once with SQLITE_BUSY when another connection committed in between
(its snapshot is stale; the busy timeout does not apply), so "SELECT, then conditional UPDATE"
breaks under concurrent workers. A leading conditional UPDATE ... RETURNING takes the write lock
first (waiting its turn), and is one round trip on PostgreSQL too. A redemption (or rotation)
returns the grant's columns too, through scalar subqueries in RETURNING (SQLite allows those,
not columns of an UPDATE ... FROM table): one statement where there were two. The statements run
through ``idp.oidc.prepared``, compiled once per dialect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from idp.db import Base
from idp.oidc.models import AuthorizationCode, Grant, Token
from idp.oidc.prepared import Prepared

CODES, GRANTS, TOKENS = (Base.metadata.tables[model.__tablename__]
                         for model in (AuthorizationCode, Grant, Token))
_GRANT_COLUMNS = ("id", "client_id", "private_id", "session_id", "scope", "claims", "nonce",
                  "acr", "amr", "auth_time", "revoked")


@dataclass(frozen=True)
class GrantInfo:
    """The grant columns the tokens are made from."""

    id: str
    client_id: str
    private_id: str
    session_id: str | None
    scope: str
    claims: dict[str, Any]
    nonce: str | None
    acr: str | None
    amr: list[str]
    auth_time: int
    revoked: bool

    @classmethod
    def of(cls, values: Sequence[Any]) -> GrantInfo:
        """From the grant columns in ``_GRANT_COLUMNS`` order."""
        return cls(*values)


def _grant_of(grant_id: Any) -> list[Any]:
    """The grant's columns, as scalar subqueries on its primary key (for RETURNING)."""
    return [select(GRANTS.c[name]).where(GRANTS.c.id == grant_id).scalar_subquery().label(
        f"grant_{name}") for name in _GRANT_COLUMNS]


def _clients_grant(grant_id: Any, *extra: Any) -> Any:
    """EXISTS, correlated on the grant's primary key (an IN list would read every grant of
    the client, which grows with every login)."""
    return select(GRANTS.c.id).where(
        GRANTS.c.id == grant_id, GRANTS.c.client_id == bindparam("b_client"), *extra).exists()


_TOKEN_COLUMNS = ("key", "kind", "grant_id", "expires_at", "issued_at", "used", "revoked")
# The access and the refresh token in one multi-row INSERT: one round trip on PostgreSQL
# without psycopg's executemany pipeline (its set-up cost more than the second statement).
INSERT_TOKENS = Prepared(insert(TOKENS).values([
    {name: bindparam(f"{prefix}_{name}") for name in _TOKEN_COLUMNS}
    for prefix in ("access", "refresh")]))

# -- authorization codes: of two concurrent redemptions exactly one gets a row back ----------
# RETURNING redirect_uri, code_challenge, expires_at, then the grant's columns
REDEEM_CODE = Prepared(update(CODES).where(
    CODES.c.code_hash == bindparam("b_code"), CODES.c.used.is_(False),
    _clients_grant(CODES.c.grant_id)).values(used=True).returning(
    CODES.c.redirect_uri, CODES.c.code_challenge, CODES.c.expires_at,
    *_grant_of(CODES.c.grant_id)))
_USED_CODE_GRANT = select(CODES.c.grant_id).where(
    CODES.c.code_hash == bindparam("b_code"), CODES.c.used.is_(True)).scalar_subquery()
REVOKE_REPLAYED_CODE = Prepared(update(GRANTS).where(
    GRANTS.c.id == _USED_CODE_GRANT, GRANTS.c.client_id == bindparam("b_client")).values(
    revoked=True).returning(GRANTS.c.id))
CODE_OWNER = Prepared(select(GRANTS.c.client_id).join_from(
    CODES, GRANTS, GRANTS.c.id == CODES.c.grant_id).where(
    CODES.c.code_hash == bindparam("b_code")))

# -- refresh tokens: rotated once; a second use revokes the grant ----------------------------
_LIVE_REFRESH = (TOKENS.c.key == bindparam("b_key"), TOKENS.c.kind == "refresh",
                 TOKENS.c.revoked.is_(False), TOKENS.c.expires_at >= bindparam("b_now"))
ROTATE_REFRESH = Prepared(update(TOKENS).where(  # RETURNING the grant's columns
    *_LIVE_REFRESH, TOKENS.c.used.is_(False),
    _clients_grant(TOKENS.c.grant_id, GRANTS.c.revoked.is_(False))).values(
    used=True).returning(*_grant_of(TOKENS.c.grant_id)))
_USED_REFRESH_GRANT = select(TOKENS.c.grant_id).where(
    *_LIVE_REFRESH, TOKENS.c.used.is_(True)).scalar_subquery()
REVOKE_REPLAYED_REFRESH = Prepared(update(GRANTS).where(
    GRANTS.c.id == _USED_REFRESH_GRANT, GRANTS.c.client_id == bindparam("b_client"),
    GRANTS.c.revoked.is_(False)).values(revoked=True).returning(GRANTS.c.id))
REFRESH_OWNER = Prepared(select(GRANTS.c.client_id).join_from(
    TOKENS, GRANTS, GRANTS.c.id == TOKENS.c.grant_id).where(
    TOKENS.c.key == bindparam("b_key"), TOKENS.c.kind == "refresh"))
REVOKE_GRANT_TOKENS = Prepared(update(TOKENS).where(
    TOKENS.c.grant_id == bindparam("b_grant")).values(revoked=True))

# -- userinfo: the access token's record and its grant, one read by primary key ---------------
ACCESS_GRANT = Prepared(select(
    TOKENS.c.revoked, TOKENS.c.expires_at, GRANTS.c.revoked, GRANTS.c.client_id,
    GRANTS.c.private_id, GRANTS.c.scope, GRANTS.c.claims).join_from(
    TOKENS, GRANTS, GRANTS.c.id == TOKENS.c.grant_id).where(
    TOKENS.c.key == bindparam("b_key"), TOKENS.c.kind == "access"))
