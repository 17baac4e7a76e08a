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

import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Integer,
    String,
    Text,
    bindparam,
    case,
    false,
    insert,
    literal,
    literal_column,
    select,
    union_all,
    update,
)

from idp.audit.append import (
    RUN_SLOTS,
    appended_by,
    filled,
    json_string_inside,
    json_text,
    sql_text,
)
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


def grant_of(grant_id: Any) -> list[Any]:
    """The grant's columns, as scalar subqueries on its primary key (for RETURNING)."""
    return [select(GRANTS.c[name]).where(GRANTS.c.id == grant_id).scalar_subquery().label(
        f"grant_{name}") for name in _GRANT_COLUMNS]


def _clients_grant(grant_id: Any, *extra: Any) -> Any:
    """EXISTS, correlated on the grant's primary key (an IN list would read every grant of
    the client, which grows with every login)."""
    return select(GRANTS.c.id).where(
        GRANTS.c.id == grant_id, GRANTS.c.client_id == bindparam("b_client"), *extra).exists()


_TOKEN_COLUMNS = ("key", "kind", "grant_id", "expires_at", "issued_at", "used", "revoked")
_KINDS = ("access", "refresh")


def _token_values(kind: str, grant_id: Any) -> tuple[Any, ...]:
    """One token row in ``_TOKEN_COLUMNS`` order: parameters ``{kind}_key``,
    ``{kind}_expires_at`` and ``b_now`` (issued at)."""
    return (bindparam(f"{kind}_key", type_=String), literal(kind, String), grant_id,
            bindparam(f"{kind}_expires_at", type_=Integer), bindparam("b_now", type_=Integer),
            false(), false())


# The access and the refresh token in one multi-row INSERT: one round trip on PostgreSQL
# without psycopg's executemany pipeline (its set-up cost more than the second statement).
INSERT_TOKENS = Prepared(insert(TOKENS).values([
    dict(zip(_TOKEN_COLUMNS, _token_values(kind, bindparam("b_grant")), strict=True))
    for kind in _KINDS]))

# -- authorization codes: of two concurrent redemptions exactly one gets a row back ----------
# RETURNING redirect_uri, code_challenge, expires_at, then the grant's columns
_REDEEMABLE = (CODES.c.code_hash == bindparam("b_code"), CODES.c.used.is_(False),
               _clients_grant(CODES.c.grant_id))  # this client's code, not used yet
REDEEM_CODE = Prepared(update(CODES).where(*_REDEEMABLE).values(used=True).returning(
    CODES.c.redirect_uri, CODES.c.code_challenge, CODES.c.expires_at,
    *grant_of(CODES.c.grant_id)))
_USED_CODE_GRANT = select(CODES.c.grant_id).where(
    CODES.c.code_hash == bindparam("b_code"), CODES.c.used.is_(True)).scalar_subquery()
REVOKE_REPLAYED_CODE = Prepared(update(GRANTS).where(
    GRANTS.c.id == _USED_CODE_GRANT, GRANTS.c.client_id == bindparam("b_client")).values(
    revoked=True).returning(GRANTS.c.id))
# Another client's code leaked (RFC 9700 §4.5, RFC 6749 §10.5): its grant is revoked for its
# own client too, and the code spent; RETURNING the grant whose tokens to revoke.
_CODE_GRANT = select(CODES.c.grant_id).where(
    CODES.c.code_hash == bindparam("b_code")).scalar_subquery()
REVOKE_LEAKED_CODE = Prepared(update(GRANTS).where(
    GRANTS.c.id == _CODE_GRANT, GRANTS.c.client_id != bindparam("b_client")).values(
    revoked=True).returning(GRANTS.c.id))
SPEND_CODE = Prepared(update(CODES).where(CODES.c.code_hash == bindparam("b_code")).values(
    used=True))

# -- refresh tokens: rotated once; a second use revokes the grant ----------------------------
_LIVE_REFRESH = (TOKENS.c.key == bindparam("b_key"), TOKENS.c.kind == "refresh",
                 TOKENS.c.revoked.is_(False), TOKENS.c.expires_at >= bindparam("b_now"))
_ROTATABLE = (*_LIVE_REFRESH, TOKENS.c.used.is_(False),
              _clients_grant(TOKENS.c.grant_id, GRANTS.c.revoked.is_(False)))
ROTATE_REFRESH = Prepared(update(TOKENS).where(*_ROTATABLE).values(  # RETURNING the grant's columns
    used=True).returning(*grant_of(TOKENS.c.grant_id)))
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

# -- userinfo: the access token's record and its grant, one read by primary key (with the
# person's claims: ``idp.oidc.resources``) ------------------------------------------------------
ACCESS_GRANT = (select(
    TOKENS.c.revoked, TOKENS.c.expires_at, GRANTS.c.revoked, GRANTS.c.client_id,
    GRANTS.c.private_id, GRANTS.c.scope, GRANTS.c.claims, GRANTS.c.auth_time,
    GRANTS.c.acr).join_from(
    TOKENS, GRANTS, GRANTS.c.id == TOKENS.c.grant_id).where(
    TOKENS.c.key == bindparam("b_key"), TOKENS.c.kind == "access"))

# -- PostgreSQL: redemption (or rotation), the new tokens and their audit entry in one
# autocommit statement ----------------------------------------------------------------------
# A data-modifying CTE redeems the code, a second one INSERTs the two token rows from its
# output, the audit CTEs append the entry of either (``_entry``, ``idp.audit.append``), and the
# main SELECT returns the grant's columns: one round trip, committed by the server. PostgreSQL
# runs every data-modifying CTE to completion whatever the SELECT reads. Of two concurrent
# statements on one code, the second waits for the first's row lock, re-checks ``used IS
# false`` and redeems nothing: one winner, as with the UPDATE alone. SQLite allows no INSERT or
# UPDATE inside WITH: it keeps the statements above.
ONE_STATEMENT_DIALECTS = frozenset({"postgresql"})


# -- why a redeemed code is refused: one table, read by Python (SQLite) and by SQL (PostgreSQL) --
@dataclass(frozen=True)
class RedeemedCode:
    """What the code's row says: where it may go, its PKCE challenge, when it expires."""

    redirect_uri: str
    challenge: str
    expires_at: int


@dataclass(frozen=True)
class PresentedCode:
    """What the token request says: now, its redirect_uri (None when absent), and the S256 of
    its code_verifier (computed in Python for both dialects)."""

    now: int
    redirect_uri: str | None
    challenge: str


@dataclass(frozen=True)
class CodeCheck:
    """One reason a redeemed code is refused (RFC 6749 §4.1.3, RFC 7636 §4.6), written once for
    both paths so they cannot drift: ``refused`` over the redeemed row in Python, ``refused_sql``
    over the CODES row and the statement's parameters (b_now, b_redirect, b_challenge)."""

    reason: str
    description: str
    refused: Callable[[RedeemedCode, PresentedCode], bool]
    refused_sql: Callable[[], ColumnElement[bool]]


# In order: the first that holds is the reason. ``b_redirect`` is NULL when the request has none:
# IS DISTINCT FROM then refuses it, as ``None != uri`` does in Python. SQL's equality is not
# constant-time, but timing it could tell at most how many leading characters of the verifier's
# SHA-256 match the stored challenge: nothing usable towards a preimage, and the code is spent by
# this one try anyway.
CODE_CHECKS: tuple[CodeCheck, ...] = (
    CodeCheck("expired", "the authorization code has expired",
              lambda code, asked: code.expires_at < asked.now,
              lambda: CODES.c.expires_at < bindparam("b_now", type_=Integer)),
    CodeCheck("redirect_uri", "redirect_uri differs from the authorization request's",
              lambda code, asked: asked.redirect_uri != code.redirect_uri,
              lambda: CODES.c.redirect_uri.is_distinct_from(
                  bindparam("b_redirect", type_=String))),
    CodeCheck("code_verifier", "code_verifier does not match the code_challenge (PKCE)",
              lambda code, asked: not hmac.compare_digest(asked.challenge.encode(),
                                                          code.challenge.encode()),
              lambda: CODES.c.code_challenge != bindparam("b_challenge", type_=String)),
)
REFUSALS = {check.reason: check.description for check in CODE_CHECKS}


def code_refusal(code: RedeemedCode, asked: PresentedCode) -> str | None:
    """Why the redeemed code is refused (a ``REFUSALS`` key), or None (the Python path)."""
    return next((check.reason for check in CODE_CHECKS if check.refused(code, asked)), None)


def _refusal() -> Any:
    """The same checks in SQL: a CASE whose value is the first reason that holds, or NULL."""
    return case(*((check.refused_sql(), check.reason) for check in CODE_CHECKS))


def _with_new_tokens(source: CTE, *extra: Any, refusal: ColumnElement[Any] | None = None,
                     audited: bool) -> Prepared:
    """``extra`` and the grant's columns for each row of ``source`` (a CTE returning
    ``grant_id``), INSERTing the access and refresh token of that grant unless ``refusal``
    (then NULL or the reason) says why not; ``audited``: appending the audit entry of either
    too (``_entry``)."""
    when = () if refusal is None else (refusal.is_(None),)
    rows = [select(*_token_values(kind, source.c.grant_id)).where(*when) for kind in _KINDS]
    issued = insert(TOKENS).from_select(_TOKEN_COLUMNS, union_all(*rows)).cte("issued")
    audit = appended_by(_entry(source, refusal)) if audited else ()
    return Prepared(select(*extra, *(GRANTS.c[name] for name in _GRANT_COLUMNS)).join_from(
        source, GRANTS, GRANTS.c.id == source.c.grant_id).add_cte(issued, *audit))


# -- the audit entry, appended by the same statement (idp.audit.append, "an entry appended by
# the statement it is about"): the template "issued", or "refused" when there is a refusal.
# Its slots: the grant's person (inside the target's string), id, acr, amr and scope, and the
# refusal's sentence.
ENTRY_SLOTS = ("grant", "acr", "amr", "scope", "reason")
PERSON_SLOT = "person"
_AMR_JSON = literal_column(  # the list as json.dumps writes it: ["a","b"], in order
    "CAST(to_json(ARRAY(SELECT amr.value FROM json_array_elements_text(oidc_grants.amr) "
    "WITH ORDINALITY AS amr(value, n) ORDER BY amr.n)) AS TEXT)", Text)


def _entry(source: CTE, refusal: ColumnElement[Any] | None) -> CTE:
    def chosen(column: str) -> ColumnElement[Any]:
        issued = bindparam(f"t_issued_{column}", type_=Text)
        if refusal is None:
            return issued
        return case((refusal.is_(None), issued), else_=bindparam(f"t_refused_{column}",
                                                                  type_=Text))

    reason = case(*((refusal == sql_text(name), sql_text(sentence))
                    for name, sentence in REFUSALS.items())) if refusal is not None else None
    whole = {"grant": json_text(GRANTS.c.id), "acr": json_text(GRANTS.c.acr),
             "amr": _AMR_JSON, "scope": json_text(GRANTS.c.scope),
             "reason": json_text(reason) if reason is not None else sql_text("null"),
             **RUN_SLOTS}
    within = {PERSON_SLOT: json_string_inside(GRANTS.c.private_id)}
    return select(
        chosen("action").label("action"),
        filled(chosen("target"), {}, {PERSON_SLOT: GRANTS.c.private_id}).label("target"),
        chosen("outcome").label("outcome"),
        filled(chosen("details"), whole, within).label("details"),
        *(filled(chosen(part), whole, within).label(part) for part in ("p1", "p2", "p3")),
    ).join_from(source, GRANTS, GRANTS.c.id == source.c.grant_id).cte("entry")


_REDEEMED = update(CODES).where(*_REDEEMABLE).values(used=True).returning(
    CODES.c.grant_id, _refusal().label("refusal")).cte("redeemed")
# One row (refusal, then the grant's columns) when this client's unused code was redeemed:
# consumed whatever the refusal, tokens INSERTed only without one; the audit entry of either
# appended by the statement (``_AUDITED``), or by the caller in the statement's transaction.
EXCHANGE_CODE, EXCHANGE_CODE_AUDITED = (
    _with_new_tokens(_REDEEMED, _REDEEMED.c.refusal, refusal=_REDEEMED.c.refusal,
                     audited=audited) for audited in (False, True))
_ROTATED = update(TOKENS).where(*_ROTATABLE).values(used=True).returning(
    TOKENS.c.grant_id).cte("rotated")
ROTATE_AND_ISSUE, ROTATE_AND_ISSUE_AUDITED = (  # the grant's columns, when rotated
    _with_new_tokens(_ROTATED, audited=audited) for audited in (False, True))
