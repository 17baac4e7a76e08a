"""The trust services the card steps need, built once from Settings and shared by the app.

They implement ``idp.accounts.ports`` (TrustPort, JlisLinks, RevocationLists) over the trust
core and J-LIS.

Trust anchors (``{var_dir}/trust`` by default), the J-LIS verifier client and one revocation
checker applying the per-purpose policy of ``settings.trust``. They are built on first use, so an
IdP without a J-LIS key still serves everything but the card steps (which then refuse with a
configuration error naming the missing key).
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from idp import metrics
from idp.jlis import (
    Basic4Consent,
    BreakerJlisClient,
    HttpJlisClient,
    JlisClient,
    JlisNotFoundError,
    JlisRefusedError,
)
from idp.jpki.anchors import TrustAnchors, load_anchors
from idp.jpki.certificate import JpkiCertificate
from idp.jpki.errors import (
    CertificateRevokedError,
    RevocationReason,
    StatusUnknownError,
    UnknownIssuerError,
)
from idp.jpki.profile import Basic4Info, Purpose
from idp.jpki.revocation import (
    CheckedStatus,
    CrlSource,
    OcspSource,
    RevocationChecker,
    SystemClock,
)
from idp.jpki.validation import VerifiedCertificate, verify_certificate
from idp.metering import Meter, certificate_key
from idp.settings import RevocationPolicy, Settings


@dataclass(frozen=True)
class TrustServices:
    anchors: TrustAnchors
    jlis: JlisClient
    revocation: RevocationChecker
    # The trust policy and each purpose's CRL source, for batches (RevocationLists); without
    # them every batch re-check goes person by person.
    policies: Mapping[Purpose, RevocationPolicy] = field(default_factory=dict)
    crl: Mapping[Purpose, CrlSource] = field(default_factory=dict)
    meter: Meter | None = None  # counts the validity checks made (idp.metering)

    def verify(self, certificate: JpkiCertificate, purpose: Purpose,
               at: datetime) -> VerifiedCertificate:
        """Path, purpose and validity (raises a JpkiError)."""
        return verify_certificate(certificate, expected_purpose=purpose, anchors=self.anchors,
                                  at=at)

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


def build(settings: Settings) -> TrustServices:
    jlis = BreakerJlisClient.around(HttpJlisClient.from_settings(
        settings.jlis, default_key_file=settings.var_dir / "secrets" / "jlis-api-key"),
        settings.jlis)
    clock = SystemClock()
    policies = {Purpose.SIGN: settings.trust.sign, Purpose.AUTH: settings.trust.auth}
    # Sources per purpose, each with its purpose's limits; the CRL ones share one index cache.
    crl = CrlSource(jlis, settings.crl_cache_dir, clock)
    crl_sources = {purpose: crl.with_staleness(policy.max_crl_staleness_seconds)
                   for purpose, policy in policies.items()}
    checker = RevocationChecker(
        policies,
        ocsp={purpose: OcspSource(jlis, clock, max_age_seconds=policy.max_ocsp_age_seconds)
              for purpose, policy in policies.items()},
        crl=crl_sources)
    return TrustServices(load_anchors(settings.anchors_dir), jlis, checker, policies,
                         crl_sources)


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
    """Builds :class:`TrustServices` on first use, once per process (a ``TrustPort``)."""

    def __init__(self, settings: Settings, meter: Meter | None = None) -> None:
        self._settings = settings
        self._meter = meter  # counts the validity checks for metering
        self._services: TrustServices | None = None
        self._lock = threading.Lock()

    def get(self) -> TrustServices:
        with self._lock:
            if self._services is None:
                self._services = replace(build(self._settings), meter=self._meter)
            return self._services

    def verify(self, certificate: JpkiCertificate, purpose: Purpose,
               at: datetime) -> VerifiedCertificate:
        return self.get().verify(certificate, purpose, at)

    def check_now(self, verified: VerifiedCertificate) -> CheckedStatus:
        return self.get().check_now(verified)

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
