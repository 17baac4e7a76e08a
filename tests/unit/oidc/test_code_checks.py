"""Why a redeemed code is refused: one table (token_sql.CODE_CHECKS) serves the Python path
(SQLite) and the SQL CASE of PostgreSQL's one-statement exchange, in one order."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql

from idp.oidc import token_sql as sql
from idp.oidc.tokens import s256

CODE = sql.RedeemedCode(redirect_uri="https://rp.example/cb", challenge=s256("v" * 43),
                        expires_at=1_000)
GOOD = sql.PresentedCode(now=999, redirect_uri="https://rp.example/cb", challenge=s256("v" * 43))


def test_a_code_presented_as_issued_is_not_refused() -> None:
    assert sql.code_refusal(CODE, GOOD) is None


@pytest.mark.parametrize(("asked", "reason"), [
    (sql.PresentedCode(1_001, GOOD.redirect_uri, GOOD.challenge), "expired"),
    (sql.PresentedCode(999, "https://rp.example/other", GOOD.challenge), "redirect_uri"),
    (sql.PresentedCode(999, None, GOOD.challenge), "redirect_uri"),
    (sql.PresentedCode(999, GOOD.redirect_uri, s256("w" * 43)), "code_verifier"),
    (sql.PresentedCode(1_001, None, s256("w" * 43)), "expired"),  # the first that holds
])
def test_each_refusal_names_the_first_check_that_holds(asked: sql.PresentedCode,
                                                       reason: str) -> None:
    assert sql.code_refusal(CODE, asked) == reason
    assert reason in sql.REFUSALS


def test_the_sql_case_is_built_from_the_same_checks_in_the_same_order() -> None:
    compiled = str(sql._refusal().compile(dialect=postgresql.dialect()))
    assert compiled.count("WHEN") == len(sql.CODE_CHECKS)
    columns = ["expires_at", "redirect_uri IS DISTINCT FROM", "code_challenge"]
    positions = [compiled.index(column) for column in columns]
    assert positions == sorted(positions)
