"""The composition root: every service of one IdP process, built once from Settings.

``Services.build(settings)`` is the only place that wires the packages together. The Flask app
(``idp.app.create_app``), the CLI commands and the servers all start from it, so an engine, a
key store or the trust services are never built a second way. Nothing here runs at import time.

The web layer reaches these services through the arguments ``create_app`` passes to each
adapter; below the web layer, services receive what they need in their constructors.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from idp import db
from idp.accounts.anchor_check import AnchorChecker
from idp.accounts.card_answers import CardAnswers, default_steps
from idp.accounts.claims import ClaimsSource, JpkiClaimsSource
from idp.accounts.recheck import Recheck
from idp.admin import AdminService
from idp.admin.health import HealthSources
from idp.audit.log import AuditLog
from idp.bootstrap.trust import LazyTrust
from idp.events.context import EventsContext
from idp.events.emitter import Emitter
from idp.instance import instance_secret
from idp.metering import Meter, MeteringReport
from idp.oidc.clients import ClientCache
from idp.oidc.context import OidcContext
from idp.oidc.flow import Provider
from idp.oidc.interaction_rows import InteractionRows
from idp.oidc.keys import KeyStore
from idp.passkeys.service import PasskeyService
from idp.settings import Settings
from idp.throttle import FailureThrottle
from idp.trustpolicy.service import TrustPolicyService


@dataclass(frozen=True)
class Throttles:
    """Failed attempts per scope (docs/operations.md, "Throttling failed attempts")."""

    client_auth: FailureThrottle  # client authentication at /token, /par, /revoke, /introspect
    passkey: FailureThrottle  # refused passkey sign-ins, per client address
    card_answer: FailureThrottle  # refused card answers, per client address
    device_user_code: FailureThrottle  # unknown user codes on /device, per address and browser
    device_authorization: FailureThrottle  # every device authorization request, per address
    admin_sign_in: FailureThrottle  # refused admin passkeys and enrolment URLs, per address

    @classmethod
    def build(cls, settings: Settings, sessions: sessionmaker[Session]) -> Throttles:
        rules = settings.throttle
        return cls(*(FailureThrottle(sessions, scope, rule.limit, rule.window_seconds)
                     for scope, rule in (("client_auth", rules.client_auth),
                                         ("passkey", rules.passkey),
                                         ("card_answer", rules.card_answer),
                                         ("device_user_code", rules.device_user_code),
                                         ("device_authorization",
                                          rules.device_authorization),
                                         ("admin_sign_in", rules.admin_sign_in))))


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    secret_key: str  # signs cookies: the login session, Flask's session, CSRF tokens
    throttles: Throttles
    keys: KeyStore
    oidc: OidcContext
    provider: Provider
    trust: LazyTrust  # trust anchors, revocation and J-LIS, following the trust policy
    trust_policy: TrustPolicyService  # the trust policy: versions, changes, history, rollback
    anchors: AnchorChecker  # the anchor re-check at every login
    recheck: Recheck  # `idp recheck`: every anchor at once
    card_answers: CardAnswers
    passkeys: PasskeyService
    claims: ClaimsSource
    events: EventsContext  # the Shared Signals transmitter: streams and their delivery
    changes: Emitter  # what accounts changed -> the events owed to relying parties
    audit: AuditLog  # the tamper-evident audit log (idp.audit): every hook records through it
    metering: MeteringReport  # the validity checks made for each relying party, priced
    admin: AdminService  # the administration: /admin, /admin/api, `idp admin`

    @classmethod
    def build(cls, settings: Settings, *, claims: ClaimsSource | None = None,
              anchors: AnchorChecker | None = None,
              interaction_rows: InteractionRows | None = None) -> Services:
        """Every service of this process. ``claims`` and ``anchors`` replace the database claims
        source and the anchor checker (tests pass fakes); ``interaction_rows`` is how the
        provider reads interactions (the web layer passes its once-per-request reader)."""
        engine = db.make_engine(settings.effective_database_url)
        sessions = db.make_sessionmaker(engine)
        secret_key = settings.secret_key or instance_secret(settings, "flask-secret")
        throttles = Throttles.build(settings, sessions)
        keys = key_store(settings)
        audit = AuditLog(sessions, origin=f"{settings.oidc.issuer.rstrip('/')}/audit")
        claims = claims or JpkiClaimsSource(sessions)
        oidc = OidcContext(
            settings=settings.oidc, keys=keys, clients=ClientCache(), sessions=sessions,
            claims=claims,
            pairwise_salt=settings.oidc.pairwise_salt or instance_secret(settings,
                                                                         "pairwise-salt"),
            cookie_secret=secret_key, client_throttle=throttles.client_auth, audit=audit)
        meter = Meter(sessions)  # the validity checks made for each relying party
        metering = MeteringReport(sessions, settings.metering)
        trust_policy = TrustPolicyService(sessions, settings, audit=audit)
        trust = LazyTrust(settings, trust_policy, audit=audit, meter=meter)
        changes = Emitter(oidc.issuer, oidc.pairwise_salt)
        anchors = anchors or AnchorChecker(sessions, trust, changes=changes, audit=audit,
                                           meter=meter)
        return cls(
            settings=settings, engine=engine, sessions=sessions, secret_key=secret_key,
            throttles=throttles, keys=keys, oidc=oidc, provider=Provider(oidc, interaction_rows),
            trust=trust, trust_policy=trust_policy, anchors=anchors,
            recheck=Recheck(sessions, trust, anchors, changes, audit=audit),
            card_answers=CardAnswers(sessions, trust, default_steps(trust, changes), audit=audit),
            passkeys=PasskeyService(sessions, settings.webauthn, audit=audit), claims=claims,
            events=EventsContext(settings.events, oidc), changes=changes, audit=audit,
            metering=metering,
            admin=AdminService.build(
                settings, sessions, client_cache=oidc.clients, changes=changes,
                pairwise_salt=oidc.pairwise_salt, health=HealthSources(
                    jlis_breakers=trust.jlis_breakers,
                    jlis_probe=lambda: len(trust.get().jlis.list_cas()),
                    crl_dir=settings.crl_cache_dir, anchors_dir=settings.anchors_dir,
                    signing_keys=settings.keys_dir / "signing.json"),
                trust_policy=trust_policy, audit=audit, metering=metering,
                sign_in_throttle=throttles.admin_sign_in))


    def close(self) -> None:
        """Return the database connections (CLI commands, tests)."""
        self.engine.dispose()


def key_store(settings: Settings) -> KeyStore:
    """The signing keys, with a retired key kept published while tokens it signed can live."""
    oidc = settings.oidc
    store = KeyStore(settings.keys_dir, retention_seconds=max(
        oidc.id_token_lifetime_seconds, oidc.access_token_lifetime_seconds) + 60)
    store.ensure()
    return store
