"""The administration: the people who run the platform, without touching files or the database.

One service layer under the admin web UI, the admin JSON API (``idp.web.admin_api``,
``idp.web.admin_ui``) and the ``idp admin`` commands, so the three cannot differ:

- ``identity``: administrators, their passkeys, sessions, confirmations and API tokens;
- ``roles``: the permissions of each role and the one check;
- ``clients``: relying parties; ``accounts``: people's accounts; ``health``: the platform;
  ``trust``: the trust policy (``idp.trustpolicy``) with the administrators' rules;
- ``reports``: the audit log and the month's metering, read;
- ``record``: ``Recorder``, where every action ends, done or refused: an audit log entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from idp.accounts.changes import ChangeSink
from idp.admin.accounts import AccountAdmin
from idp.admin.clients import ClientAdmin
from idp.admin.health import HealthSources, PlatformHealth
from idp.admin.identity import Identity
from idp.admin.record import Recorder
from idp.admin.reports import AuditAdmin, MeteringAdmin
from idp.admin.trust import TrustAdmin
from idp.audit.log import AuditLog
from idp.metering import MeteringReport
from idp.oidc.clients import ClientCache
from idp.settings import Settings
from idp.throttle import FailureThrottle
from idp.trustpolicy.service import TrustPolicyService


@dataclass(frozen=True)
class AdminService:
    identity: Identity
    clients: ClientAdmin
    accounts: AccountAdmin
    health: PlatformHealth
    trust: TrustAdmin
    audit: AuditAdmin
    metering: MeteringAdmin
    sign_in_throttle: FailureThrottle  # refused passkeys and enrolment URLs, per address

    @classmethod
    def build(cls, settings: Settings, sessions: sessionmaker[Session], *,
              client_cache: ClientCache, changes: ChangeSink, pairwise_salt: str,
              health: HealthSources, trust_policy: TrustPolicyService, audit: AuditLog,
              metering: MeteringReport, sign_in_throttle: FailureThrottle) -> AdminService:
        record = Recorder(audit)
        identity = Identity(sessions, settings.admin, settings.webauthn, settings.oidc.issuer,
                            record)
        return cls(identity, ClientAdmin(sessions, settings, client_cache, identity, record),
                   AccountAdmin(sessions, identity, changes, pairwise_salt, record),
                   PlatformHealth(sessions, health, record, trust_policy),
                   TrustAdmin(trust_policy, identity, record), AuditAdmin(audit, record),
                   MeteringAdmin(metering, record), sign_in_throttle)

    @property
    def record(self) -> Recorder:
        """Where every admin action ends (the API records unauthenticated calls here)."""
        return self.audit.recorder
