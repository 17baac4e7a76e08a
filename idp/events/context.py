"""What the transmitter needs, built once (``idp.bootstrap``): its settings and the OIDC
provider's context (issuer, signing keys, registered clients, database sessions)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from idp.oidc.clients import ClientCache
from idp.oidc.context import OidcContext
from idp.oidc.keys import KeyStore
from idp.settings_events import EventsSettings

SET_TYPE = "secevent+jwt"  # RFC 8417 §2.3, SSF §4.1.1
SET_ALG = "RS256"  # the CAEP interoperability profile's: RS256 with a 2048-bit key
PUSH = "urn:ietf:rfc:8935"
POLL = "urn:ietf:rfc:8936"


@dataclass(frozen=True)
class EventsContext:
    settings: EventsSettings
    oidc: OidcContext

    @property
    def issuer(self) -> str:
        return self.oidc.issuer

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self.oidc.sessions

    @property
    def keys(self) -> KeyStore:
        return self.oidc.keys

    @property
    def clients(self) -> ClientCache:
        return self.oidc.clients

    def endpoint(self, path: str) -> str:
        return self.oidc.endpoint(path)

    def poll_url(self, stream_id: str) -> str:
        """The poll endpoint of one stream (SSF §6.1.2: unique per stream)."""
        return self.endpoint(f"/ssf/poll/{stream_id}")

    def sign(self, claims: dict[str, object]) -> str:
        """A Security Event Token of ``claims``, signed now."""
        return self.keys.sign(dict(claims), SET_ALG, typ=SET_TYPE)
