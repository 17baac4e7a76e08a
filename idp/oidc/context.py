"""Everything the provider needs, built once from Settings in create_app."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from idp.accounts.claims import ClaimsSource
from idp.audit.log import AuditLog
from idp.oidc.clients import ClientCache
from idp.oidc.errors import InvalidClientError
from idp.oidc.keys import KeyStore
from idp.oidc.models import UsedAssertion
from idp.settings import OidcSettings
from idp.throttle import FailureThrottle


@dataclass(frozen=True)
class OidcContext:
    settings: OidcSettings
    keys: KeyStore
    clients: ClientCache
    sessions: sessionmaker[Session]
    claims: ClaimsSource
    pairwise_salt: str
    cookie_secret: str
    client_throttle: FailureThrottle  # failed client authentications, per presented client_id
    audit: AuditLog  # the audit log: tokens issued, consents, logouts, events delivered

    @property
    def issuer(self) -> str:
        return self.settings.issuer.rstrip("/")

    def endpoint(self, path: str) -> str:
        return f"{self.issuer}{path}"

    def audiences(self) -> set[str]:
        """What a client assertion may name as ``aud``: the issuer or any of our endpoints."""
        return {self.issuer, *(self.endpoint(p) for p in ("/token", "/par", "/revoke",
                                                           "/introspect"))}

    def remember_jti(self, db: Session, jti: str, expires_at: int) -> None:
        """Refuse a second use of one assertion id (RFC 7523 §3, item 7)."""
        try:
            with db.begin_nested():
                db.add(UsedAssertion(jti=jti[:255], expires_at=expires_at))
        except IntegrityError as error:
            raise InvalidClientError("this client assertion was already used") from error


def now() -> int:
    return int(time.time())
