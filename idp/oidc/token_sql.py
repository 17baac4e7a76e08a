"""The token endpoint's SQL: Core statements built once, writes before reads.

Every transaction here starts with its write. Under SQLite's WAL a transaction that reads first
and writes later fails at once with SQLITE_BUSY when another connection committed in between
(its snapshot is stale; the busy timeout does not apply), so "SELECT, then conditional UPDATE"
breaks under concurrent workers. A leading conditional UPDATE ... RETURNING takes the write lock
first (waiting its turn), and is one round trip on PostgreSQL too. The ORM is skipped on this
hot path; SQLAlchemy's compiled cache serves each statement after its first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import RowMapping, bindparam, insert, select, update

from idp.db import Base
from idp.oidc.models import AuthorizationCode, Grant, Token

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
    def of(cls, row: RowMapping) -> GrantInfo:
        return cls(*(row[name] for name in _GRANT_COLUMNS))




def _clients_grant(grant_id: Any, *extra: Any) -> Any:
    """EXISTS, correlated on the grant's primary key (an IN list would read every grant of
    the client, which grows with every login)."""
    return select(GRANTS.c.id).where(
        GRANTS.c.id == grant_id, GRANTS.c.client_id == bindparam("b_client"), *extra).exists()


GRANT_BY_ID = select(*(GRANTS.c[name] for name in _GRANT_COLUMNS)).where(
    GRANTS.c.id == bindparam("b_grant"))
INSERT_TOKEN = insert(TOKENS)

# -- authorization codes: of two concurrent redemptions exactly one gets a row back ----------
REDEEM_CODE = update(CODES).where(
    CODES.c.code_hash == bindparam("b_code"), CODES.c.used.is_(False),
    _clients_grant(CODES.c.grant_id)).values(used=True).returning(
    CODES.c.grant_id, CODES.c.redirect_uri, CODES.c.code_challenge, CODES.c.expires_at)
_USED_CODE_GRANT = select(CODES.c.grant_id).where(
    CODES.c.code_hash == bindparam("b_code"), CODES.c.used.is_(True)).scalar_subquery()
REVOKE_REPLAYED_CODE = update(GRANTS).where(
    GRANTS.c.id == _USED_CODE_GRANT, GRANTS.c.client_id == bindparam("b_client")).values(
    revoked=True).returning(GRANTS.c.id)
CODE_OWNER = select(GRANTS.c.client_id).join_from(
    CODES, GRANTS, GRANTS.c.id == CODES.c.grant_id).where(CODES.c.code_hash == bindparam("b_code"))

# -- refresh tokens: rotated once; a second use revokes the grant ----------------------------
_LIVE_REFRESH = (TOKENS.c.key == bindparam("b_key"), TOKENS.c.kind == "refresh",
                 TOKENS.c.revoked.is_(False), TOKENS.c.expires_at >= bindparam("b_now"))
ROTATE_REFRESH = update(TOKENS).where(
    *_LIVE_REFRESH, TOKENS.c.used.is_(False),
    _clients_grant(TOKENS.c.grant_id, GRANTS.c.revoked.is_(False))).values(
    used=True).returning(TOKENS.c.grant_id)
_USED_REFRESH_GRANT = select(TOKENS.c.grant_id).where(
    *_LIVE_REFRESH, TOKENS.c.used.is_(True)).scalar_subquery()
REVOKE_REPLAYED_REFRESH = update(GRANTS).where(
    GRANTS.c.id == _USED_REFRESH_GRANT, GRANTS.c.client_id == bindparam("b_client"),
    GRANTS.c.revoked.is_(False)).values(revoked=True).returning(GRANTS.c.id)
REFRESH_OWNER = select(GRANTS.c.client_id).join_from(
    TOKENS, GRANTS, GRANTS.c.id == TOKENS.c.grant_id).where(
    TOKENS.c.key == bindparam("b_key"), TOKENS.c.kind == "refresh")
REVOKE_GRANT_TOKENS = update(TOKENS).where(TOKENS.c.grant_id == bindparam("b_grant")).values(
    revoked=True)
