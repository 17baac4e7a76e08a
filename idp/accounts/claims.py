"""Where the OIDC layer reads a person's claims: a Protocol, a database source, a fake.

The next issue fills claims from the verified 4 info of the JPKI anchor; ``verified_claims``
(OpenID Connect for Identity Assurance) and ``age_over_N`` will come through the same door.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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


@dataclass
class FakeClaimsSource:
    """In-process claims for tests."""

    claims: dict[str, dict[str, Any]] = field(default_factory=dict)

    def claims_for(self, private_id: str) -> Mapping[str, Any]:
        return self.claims.get(private_id, {})
