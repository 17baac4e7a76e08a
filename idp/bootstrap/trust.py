"""The trust services the card steps need, built from the trust policy and shared by the app.

They implement ``idp.accounts.ports`` (TrustPort, JlisLinks, RevocationLists) over the trust
core and J-LIS.

What is trusted and how it is checked is the trust policy (``idp.trustpolicy``): the enabled CA
generations, the revocation rule per purpose, the revocation-reason mapping and the highest level
each medium may reach. :class:`LazyTrust` builds the services from its current version on first
use and rebuilds them when the version moves (checked at most every
``trust.policy_check_seconds``), keeping the J-LIS client (and its breakers) and the CRL index
cache across rebuilds. Without a policy service (``build(settings)``, tests and tools) the
services are built once from ``settings.trust`` and the anchor directory, as before the policy was
data. An IdP without a J-LIS key still serves everything but the card steps (which then refuse
with a configuration error naming the missing key).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from cryptography import x509
from cryptography.x509 import ReasonFlags

from idp import metrics
from idp.accounts.anchor_policy import DEFAULT_POLICY, AnchorPolicy, AnchorState
from idp.audit.log import AuditLog
from idp.jlis import (
    Basic4Consent,
    BreakerJlisClient,
    HttpJlisClient,
    JlisClient,
    JlisNotFoundError,
    JlisRefusedError,
)
from idp.jpki.anchors import TrustAnchor, TrustAnchors, anchor_from_certificate, load_anchors
from idp.jpki.certificate import JpkiCertificate
from idp.jpki.errors import (
    CertificateRevokedError,
    RetiredCaError,
    RevocationReason,
    StatusUnknownError,
    UnknownIssuerError,
)
from idp.jpki.profile import Basic4Info, Medium, Purpose
from idp.jpki.revocation import (
    CheckedStatus,
    CrlSource,
    OcspSource,
    RevocationChecker,
    SystemClock,
)
from idp.jpki.validation import (
    VerifiedCertificate,
    VerifiedPaths,
    issuing_anchor,
    verify_certificate,
)
from idp.metering import Meter, certificate_key
from idp.settings import RevocationPolicy, Settings
from idp.trustpolicy.document import TrustPolicy
from idp.trustpolicy.service import PolicyVersion, TrustPolicyService, revocation_policy

_MEDIA = {"card": Medium.CARD, "smartphone": Medium.PHONE}


@dataclass(frozen=True)
class TrustServices:
    anchors: TrustAnchors
    jlis: JlisClient
    revocation: RevocationChecker
    # The trust policy and each purpose's CRL source, for batches (RevocationLists); without
    # them every batch re-check goes person by person.
    policies: Mapping[Purpose, RevocationPolicy] = field(default_factory=dict)
    crl: Mapping[Purpose, CrlSource] = field(default_factory=dict)
    # Retired CA generations: their certificates are refused with ``ca_retired``.
    retired: TrustAnchors = field(default_factory=lambda: TrustAnchors(()))
    anchor_policy: AnchorPolicy = DEFAULT_POLICY  # what a revocation reason means
    # The highest IAL an anchor of each CA proves, by (purpose, key id); 2 when not named.
    max_ial_of: Mapping[tuple[Purpose, bytes], int] = field(default_factory=dict)
    # Whether a login asking for an IAL is refused when a purpose's status cannot be
    # established, by (purpose, IAL); the purpose's ``fail_closed`` flag when not named.
    fail_closed_at: Mapping[tuple[Purpose, int], bool] = field(default_factory=dict)
    version: int = 0  # the trust policy version these were built from (0: from the settings)
    meter: Meter | None = None  # counts the validity checks made (idp.metering)
    # Validated paths of the certificates seen (re-checked anchors), for these anchors only:
    paths: VerifiedPaths = field(default_factory=VerifiedPaths, init=False, compare=False,
                                 repr=False)  # not carried over by replace(): new anchors

    def verify_der(self, der: bytes, purpose: Purpose, at: datetime) -> VerifiedCertificate:
        """:meth:`verify` of the certificate ``der``, its parsing and path remembered until it
        or its CA expires (``VerifiedPaths``; revocation is :meth:`check_now`, every time)."""
        return self.paths.verify(der, purpose, at,
                                 lambda certificate: self.verify(certificate, purpose, at))

    def verify(self, certificate: JpkiCertificate, purpose: Purpose,
               at: datetime) -> VerifiedCertificate:
        """Path, purpose and validity (raises a JpkiError; ``ca_retired`` for a certificate of a
        retired CA generation)."""
        try:
            return verify_certificate(certificate, expected_purpose=purpose,
                                      anchors=self.anchors, at=at)
        except UnknownIssuerError:
            retired = issuing_anchor(certificate, purpose, self.retired)
            if retired is None:
                raise
            raise RetiredCaError(f"the CA generation that issued this certificate "
                                 f"({retired.label}) is no longer trusted by this service (the "
                                 "trust policy retired it)") from None

    def check_now(self, verified: VerifiedCertificate) -> CheckedStatus:
        """Revocation under the trust policy (raises CertificateRevokedError or unavailable).

        Every answer of a source (OCSP, or the CRL: the one that answered, a fallback
        included) is a validity check made for the relying party bound to this request: metered
        (``idp.metering``) and counted in ``idp_validity_checks_total``. No source answering
        (an outage let through by ``fail_closed = false``) made no check."""
        try:
            checked = self.revocation.check(verified)
        except (CertificateRevokedError, StatusUnknownError) as answered:
            self._checked(verified, answered.source or "")  # a refused answer is a check too
            raise
        self._checked(verified, checked.status.source)
        return checked

    def _checked(self, verified: VerifiedCertificate, source: str) -> None:
        certificate = verified.certificate
        if source in ("ocsp", "crl"):
            _count(self.meter, verified.purpose, source,
                   [certificate_key(certificate.authority_key_id, certificate.serial_hex)])

    def reasons(self) -> AnchorPolicy:
        """The trust policy's revocation-reason mapping (``idp.accounts.anchor_policy``)."""
        return self.anchor_policy

    def max_ial(self, verified: VerifiedCertificate) -> int:
        """The highest identity assurance level the medium of ``verified``'s CA may reach."""
        return self.max_ial_of.get((verified.purpose, verified.anchor.key_id), 2)

    def fails_closed(self, purpose: Purpose, ial: int) -> bool:
        """Whether a login asking for identity level ``ial`` is refused when ``purpose``'s
        revocation status cannot be established (the trust policy's per-level rule)."""
        found = self.fail_closed_at.get((purpose, ial))
        if found is not None:
            return found
        policy = self.policies.get(purpose)
        return policy is None or policy.fail_closed

    def bulk(self, purpose: Purpose) -> bool:
        """Whether a batch may take ``purpose``'s status from the CRL (``RevocationLists``)."""
        policy = self.policies.get(purpose)
        return policy is not None and policy.method != "ocsp" and purpose in self.crl

    def revoked(self, purpose: Purpose, issuer_key_id: bytes,
                serials: Collection[str]) -> Mapping[str, RevocationReason]:
        """Which ``serials`` (hex) the CRL of that CA lists, from its index (fetched when
        due)."""
        anchor = self.anchors.by_key_id(purpose, issuer_key_id)
        if anchor is None:
            raise UnknownIssuerError(f"no trusted {purpose.value} CA has key id "
                                     f"{issuer_key_id.hex()}")
        index = self.crl[purpose].index_for(anchor.certificate)
        listed = {serial: entry.reason for serial, entry in index.revoked_among(serials).items()}
        _count(self.meter, purpose, "crl",
               [certificate_key(issuer_key_id, serial) for serial in serials])
        return listed


def _count(meter: Meter | None, purpose: Purpose, method: str, keys: Collection[str]) -> None:
    if not keys:
        return
    metrics.validity_check(purpose.value, method, len(keys))
    if meter is not None:
        meter.checked_many(purpose.value, method, keys, datetime.now(UTC))


@dataclass(frozen=True)
class _Shared:
    """What outlives a policy change: the J-LIS client (its breakers) and the CRL index cache."""

    jlis: JlisClient
    crl: CrlSource
    clock: SystemClock

    @classmethod
    def of(cls, settings: Settings, audit: AuditLog | None = None) -> _Shared:
        jlis = BreakerJlisClient.around(HttpJlisClient.from_settings(
            settings.jlis, default_key_file=settings.var_dir / "secrets" / "jlis-api-key",
            audit=audit), settings.jlis)
        clock = SystemClock()
        return cls(jlis, CrlSource(jlis, settings.crl_cache_dir, clock), clock)


def _assemble(shared: _Shared, anchors: TrustAnchors,
              policies: Mapping[Purpose, RevocationPolicy], **extra: object) -> TrustServices:
    # Sources per purpose, each with its purpose's limits; the CRL ones share one index cache.
    crl_sources = {purpose: shared.crl.with_staleness(policy.max_crl_staleness_seconds)
                   for purpose, policy in policies.items()}
    checker = RevocationChecker(
        policies,
        ocsp={purpose: OcspSource(shared.jlis, shared.clock,
                                  max_age_seconds=policy.max_ocsp_age_seconds)
              for purpose, policy in policies.items()},
        crl=crl_sources)
    return TrustServices(anchors, shared.jlis, checker, policies, crl_sources,
                         **extra)  # type: ignore[arg-type]


def build(settings: Settings, *, audit: AuditLog | None = None) -> TrustServices:
    """The services straight from the settings (``trust.*`` and the anchor directory); J-LIS
    calls audited in ``audit`` (``idp.jlis.http``)."""
    policies = {Purpose.SIGN: settings.trust.sign, Purpose.AUTH: settings.trust.auth}
    return _assemble(_Shared.of(settings, audit), load_anchors(settings.anchors_dir), policies)


def build_from_policy(shared: _Shared, current: PolicyVersion,
                      certificates: Mapping[str, x509.Certificate]) -> TrustServices:
    """The services of one trust policy version."""
    policy = current.policy
    anchors, retired = _anchors(policy, certificates, True), _anchors(policy, certificates, False)
    max_ial = {(Purpose(entry.purpose), anchor.key_id): policy.media[entry.medium].max_ial
               for entry in policy.anchors if entry.fingerprint in certificates
               for anchor in (anchor_from_certificate(Purpose(entry.purpose),
                                                      certificates[entry.fingerprint]),)}
    policies = {Purpose(name): revocation_policy(rule) for name, rule in policy.revocation.items()}
    fail_closed = {(Purpose(name), ial): rule.fails_closed_at(ial)
                   for name, rule in policy.revocation.items() for ial in (1, 2)}
    return _assemble(shared, anchors, policies, retired=retired, anchor_policy=reasons_of(policy),
                     max_ial_of=max_ial, fail_closed_at=fail_closed, version=current.version)


def _anchors(policy: TrustPolicy, certificates: Mapping[str, x509.Certificate],
             enabled: bool) -> TrustAnchors:
    chosen: list[TrustAnchor] = [
        anchor_from_certificate(Purpose(entry.purpose), certificates[entry.fingerprint])
        for entry in policy.anchors
        if entry.enabled is enabled and entry.fingerprint in certificates]
    return TrustAnchors(tuple(chosen))


def reasons_of(policy: TrustPolicy) -> AnchorPolicy:
    """The anchor policy (``idp.accounts.anchor_policy``) of the policy's reason mapping."""
    mapping = policy.reasons
    return AnchorPolicy(
        card_revocation={ReasonFlags(reason): AnchorState(state)
                         for reason, state in mapping.card_revocation.items()},
        reissue_reasons=frozenset(ReasonFlags(reason) for reason in mapping.reissue_reasons))


class JlisLinkAdapter:
    """``JlisLinks`` over the J-LIS client. A link J-LIS does not have (unknown serial, no
    consent to serial linking) counts as no link; J-LIS not answering is not "no link" but a
    refusal to decide (``JlisUnavailableError``, 424): onboarding must not open a second private
    ID for a person only because J-LIS was down when it asked. Every answer is metered as J-LIS
    charges it: a check of the purpose of the serial it names (methods "link" and "basic4")."""

    def __init__(self, jlis: JlisClient, meter: Meter | None = None) -> None:
        self._jlis = jlis
        self._meter = meter

    def paired_auth(self, sign_serial: str) -> str | None:
        try:
            found = self._jlis.pair_link(sign_serial, "sign").auth_serial
        except (JlisNotFoundError, JlisRefusedError):
            return None
        self._charge(Purpose.SIGN, "link", sign_serial)
        return found

    def previous(self, serial: str, purpose: Purpose) -> tuple[str, ...]:
        try:
            found = self._jlis.previous_serials(
                serial, "sign" if purpose is Purpose.SIGN else "auth").previous_serials
        except (JlisNotFoundError, JlisRefusedError):
            return ()
        self._charge(purpose, "link", serial)
        return found

    def provide_basic4(self, serial: str, *, certificate: bytes, to_be_signed: bytes,
                       consent_text: str, signature: bytes) -> tuple[str, Basic4Info]:
        answer = self._jlis.basic4(serial, Basic4Consent(certificate, to_be_signed,
                                                         consent_text, signature))
        self._charge(Purpose.SIGN, "basic4", serial)
        return answer.serial, answer.basic4

    def _charge(self, purpose: Purpose, method: str, serial: str) -> None:
        _count(self._meter, purpose, method, [certificate_key(None, serial)])


class LazyTrust:
    """The trust services of one process (a ``TrustPort``), built on first use.

    With a trust policy service, the services follow its current version: at most every
    ``check_seconds`` one indexed read asks for the version number, and a new version rebuilds
    the services (0 checks at every use). A version this process commits itself is taken at
    once (``TrustPolicyService.on_change``)."""

    def __init__(self, settings: Settings, policy: TrustPolicyService | None = None, *,
                 check_seconds: float | None = None, audit: AuditLog | None = None,
                 meter: Meter | None = None) -> None:
        self._settings = settings
        self._policy = policy
        self._audit = audit  # J-LIS calls are audited (idp.jlis.http)
        self._meter = meter  # counts the validity checks for metering
        self._check_seconds = (settings.trust.policy_check_seconds if check_seconds is None
                               else check_seconds)
        self._services: TrustServices | None = None
        self._shared: _Shared | None = None
        self._next_check = 0.0
        self._lock = threading.Lock()
        if policy is not None:
            policy.on_change(lambda _version: self.expire())

    def expire(self) -> None:
        """Ask for the policy version at the next use."""
        self._next_check = 0.0

    def get(self) -> TrustServices:
        with self._lock:
            if self._policy is None:
                if self._services is None:
                    self._services = replace(build(self._settings, audit=self._audit),
                                             meter=self._meter)
                return self._services
            now = time.monotonic()
            if self._services is None or now >= self._next_check:
                self._services = self._follow(self._services)
                self._next_check = now + self._check_seconds
            return self._services

    def _follow(self, services: TrustServices | None) -> TrustServices:
        policy = self._policy
        if policy is None:
            return services or replace(build(self._settings, audit=self._audit),
                                       meter=self._meter)
        if services is not None and policy.current_version() == services.version:
            return services
        current = policy.current()
        if self._shared is None:
            self._shared = _Shared.of(self._settings, self._audit)
        certificates = policy.certificates(a.fingerprint for a in current.policy.anchors)
        return replace(build_from_policy(self._shared, current, certificates), meter=self._meter)

    def verify(self, certificate: JpkiCertificate, purpose: Purpose,
               at: datetime) -> VerifiedCertificate:
        return self.get().verify(certificate, purpose, at)

    def verify_der(self, der: bytes, purpose: Purpose, at: datetime) -> VerifiedCertificate:
        return self.get().verify_der(der, purpose, at)

    def check_now(self, verified: VerifiedCertificate) -> CheckedStatus:
        return self.get().check_now(verified)

    def max_ial(self, verified: VerifiedCertificate) -> int:
        return self.get().max_ial(verified)

    def fails_closed(self, purpose: Purpose, ial: int) -> bool:
        return self.get().fails_closed(purpose, ial)

    def reasons(self) -> AnchorPolicy:
        return self.get().reasons()

    def bulk(self, purpose: Purpose) -> bool:
        return self.get().bulk(purpose)

    def revoked(self, purpose: Purpose, issuer_key_id: bytes,
                serials: Collection[str]) -> Mapping[str, RevocationReason]:
        return self.get().revoked(purpose, issuer_key_id, serials)

    @property
    def links(self) -> JlisLinkAdapter:
        return JlisLinkAdapter(self.get().jlis, self._meter)

    def jlis_breakers(self) -> dict[str, str]:
        """Each J-LIS service's breaker state; {} until a card step first needed J-LIS."""
        jlis = self._services.jlis if self._services is not None else None
        return jlis.states() if isinstance(jlis, BreakerJlisClient) else {}
