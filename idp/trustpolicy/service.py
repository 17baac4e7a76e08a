"""The trust policy service: read, change (validated, versioned), history and rollback.

Every change goes through :meth:`TrustPolicyService.commit`: the new document is validated whole
(``document.TrustPolicy``), recorded as version ``current + 1`` with who, when, why and the diff,
in one transaction. The version number is the table's primary key: two writers racing for the
same number cannot both insert it; the loser re-reads and re-applies its change on top of the
winner's (or, for a change made against a version it read, is refused as a conflict).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from idp import db as dbm
from idp.audit import entries as audit_entries
from idp.audit.log import AuditLog
from idp.errors import ConfigurationError, IdpError
from idp.jpki.certificate import medium_of
from idp.jpki.profile import Medium
from idp.settings import RevocationPolicy, Settings
from idp.trustpolicy.document import (
    MEDIA,
    PURPOSES,
    AnchorEntry,
    CaCertificate,
    MediumName,
    MediumRule,
    PurposeName,
    ReasonMapping,
    RevocationRule,
    TrustPolicy,
    TrustPolicyConflictError,
    TrustPolicyError,
    TrustPolicyVersionNotFoundError,
    diff,
    entry_for,
    parse_policy,
    read_ca_certificates,
    with_value,
)
from idp.trustpolicy.models import TrustCaCertificate, TrustPolicyVersion

log = logging.getLogger(__name__)

# The real J-LIS root CAs shipped with the source (trust/jpki_ca/{sign,auth}/*.pem): part of the
# first version, retired unless the instance's anchor directory already trusts them.
SHIPPED_ANCHORS_DIR = Path(__file__).resolve().parents[2] / "trust" / "jpki_ca"
SEED_ACTOR = "settings"
_ATTEMPTS = 20
_SUFFIXES = {".pem", ".crt", ".cer", ".der"}


@dataclass(frozen=True)
class PolicyVersion:
    """One recorded version of the trust policy."""

    version: int
    created_at: datetime
    actor: str  # "settings" (the first version), "cli:<user>", "admin:<id>"
    reason: str
    policy: TrustPolicy
    diff: tuple[Mapping[str, Any], ...]  # {"path", "from", "to"} per changed field
    rollback_of: int | None = None  # the version this one made current again

    def as_json(self, *, with_policy: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": self.version, "created_at": self.created_at.isoformat(),
            "actor": self.actor, "reason": self.reason, "diff": [dict(c) for c in self.diff],
            "rollback_of": self.rollback_of}
        if with_policy:
            data["policy"] = self.policy.as_json()
        return data


Change = Callable[[TrustPolicy], TrustPolicy]


class TrustPolicyService:
    """The trust policy in the database. ``settings`` seed the first version (when the table is
    empty) from what the instance used before the policy was data: ``trust.sign``/``trust.auth``
    and the certificates in the anchor directory, with the shipped J-LIS CAs retired."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, *,
                 shipped_dir: Path | None = SHIPPED_ANCHORS_DIR,
                 audit: AuditLog | None = None) -> None:
        self._sessions = sessions
        self._audit = audit
        self._reads = dbm.single_read_sessions(sessions)
        self._settings = settings
        self._shipped_dir = shipped_dir
        self._listeners: list[Callable[[int], None]] = []

    # --- reading -------------------------------------------------------------------------------

    def current_version(self) -> int:
        """The current version number (0 before the first): one indexed read, for hot paths."""
        with self._reads() as db:
            return db.execute(select(func.max(TrustPolicyVersion.version))).scalar() or 0

    def current(self) -> PolicyVersion:
        """The current version; the first is seeded from the settings when there is none."""
        with self._reads() as db:
            row = db.execute(_newest()).scalar()
        if row is not None:
            return _version(row)
        return self._seed()

    def version(self, number: int) -> PolicyVersion:
        with self._reads() as db:
            row = db.get(TrustPolicyVersion, number)
        if row is None:
            raise TrustPolicyVersionNotFoundError(f"there is no trust policy version {number}")
        return _version(row)

    def history(self) -> list[PolicyVersion]:
        """Every version, newest first."""
        self.current()  # seeds the first version of a new instance
        with self._reads() as db:
            rows = db.execute(select(TrustPolicyVersion)
                              .order_by(TrustPolicyVersion.version.desc())).scalars().all()
        return [_version(row) for row in rows]

    def certificates(self, fingerprints: Iterable[str]) -> dict[str, x509.Certificate]:
        """The CA certificates the policy names, by fingerprint."""
        wanted = set(fingerprints)
        if not wanted:
            return {}
        with self._reads() as db:
            rows = db.execute(select(TrustCaCertificate.fingerprint, TrustCaCertificate.der)
                              .where(TrustCaCertificate.fingerprint.in_(wanted))).all()
        return {row.fingerprint: x509.load_der_x509_certificate(row.der) for row in rows}

    def certificate_der(self, fingerprint: str) -> bytes | None:
        with self._reads() as db:
            row = db.get(TrustCaCertificate, fingerprint)
        return row.der if row is not None else None

    # --- changing ------------------------------------------------------------------------------

    def replace(self, policy: TrustPolicy | Mapping[str, Any], *, actor: str, reason: str,
                expected_version: int | None = None) -> PolicyVersion:
        """Make ``policy`` (a whole document, e.g. the admin API's PUT) the new version. With
        ``expected_version``, refused (409) if the current version is another one. Every anchor
        it names must already be stored (added through :meth:`add_anchor` once)."""
        new = self._with_certificate_facts(
            policy if isinstance(policy, TrustPolicy) else parse_policy(dict(policy)))
        return self.commit(lambda _: new, actor=actor, reason=reason,
                           expected_version=expected_version)

    def set(self, key: str, value: Any, *, actor: str, reason: str = "",
            expected_version: int | None = None) -> PolicyVersion:
        """Set one field by its dotted key (``revocation.sign.method``, ``media.smartphone.
        max_ial``, ``reasons.card_revocation.affiliationChanged``; ``document.SETTABLE``)."""
        return self.commit(lambda p: with_value(p, key, value), actor=actor,
                           reason=reason or f"set {key}", expected_version=expected_version)

    def add_anchor(self, data: bytes, *, purpose: str, actor: str, reason: str = "",
                   medium: str | None = None, generation: str | None = None,
                   source: str = "", enabled: bool = True) -> PolicyVersion:
        """Trust the CA certificate(s) in ``data`` (PEM or DER) for ``purpose``. Refused unless
        each is a CA certificate (basicConstraints cA, keyUsage keyCertSign). ``medium``
        defaults to what the CA's name says, ``generation`` to its first year. A certificate
        already listed for that purpose is enabled (and its medium/generation updated)."""
        purpose_name = cast(PurposeName, _check_name(purpose, PURPOSES, "purpose"))
        medium_name = (cast(MediumName, _check_name(medium, MEDIA, "medium"))
                       if medium is not None else None)
        cas = read_ca_certificates(data, source or "the file")
        entries = [entry_for(ca, purpose_name, medium=medium_name or _medium(ca.certificate),
                             generation=generation, enabled=enabled, source=source)
                   for ca in cas]
        self._store(cas)

        def change(policy: TrustPolicy) -> TrustPolicy:
            fresh = {entry.fingerprint: entry for entry in entries}
            kept = [a for a in policy.anchors
                    if not (a.purpose == purpose and a.fingerprint in fresh)]
            return policy.model_copy(update={"anchors": (*kept, *entries)})

        names = ", ".join(f"{e.key}" for e in entries)
        return self.commit(change, actor=actor, reason=reason or f"add {purpose} CA {names}")

    def retire(self, *, actor: str, reason: str = "", fingerprint: str | None = None,
               purpose: str | None = None, medium: str | None = None,
               generation: str | None = None) -> PolicyVersion:
        """Stop trusting the matching CA generation(s): their certificates are refused at the
        next login. Select by ``fingerprint`` (or a unique prefix) or by purpose, medium and
        generation."""
        return self._set_enabled(False, actor, reason, fingerprint, purpose, medium, generation)

    def enable(self, *, actor: str, reason: str = "", fingerprint: str | None = None,
               purpose: str | None = None, medium: str | None = None,
               generation: str | None = None) -> PolicyVersion:
        """Trust the matching (retired) CA generation(s) again."""
        return self._set_enabled(True, actor, reason, fingerprint, purpose, medium, generation)

    def rollback(self, version: int, *, actor: str, reason: str = "") -> PolicyVersion:
        """Make version ``version`` current again, as a new version."""
        old = self.version(version)
        return self.commit(lambda _: old.policy, actor=actor,
                           reason=reason or f"rollback to version {version}",
                           rollback_of=version)

    def on_change(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(version)`` after this process committed a new version (so its own
        trust services rebuild at once rather than at their next version check)."""
        self._listeners.append(listener)

    def commit(self, change: Change, *, actor: str, reason: str,
               expected_version: int | None = None,
               rollback_of: int | None = None) -> PolicyVersion:
        """Apply ``change`` to the current policy and record the result as the next version."""
        actor = actor.strip()
        if not actor:
            raise TrustPolicyError("a trust policy change needs an actor (who made it)")
        for _ in range(_ATTEMPTS):
            current = self.current()
            if expected_version is not None and current.version != expected_version:
                raise TrustPolicyConflictError(
                    f"the trust policy is at version {current.version}, not "
                    f"{expected_version}: read it again and redo the change")
            new = change(current.policy)
            changes = diff(current.policy, new)
            if not changes:
                raise TrustPolicyError("nothing to change: the trust policy already says that "
                                       f"(version {current.version})")
            recorded = self._insert(current.version + 1, new, changes, actor, reason,
                                    rollback_of)
            if recorded is not None:
                log.info("trust policy version %d by %s: %s", recorded.version, actor, reason)
                for listener in self._listeners:
                    listener(recorded.version)
                return recorded
        raise TrustPolicyConflictError("the trust policy kept changing while this change was "
                                       "made; try again")

    # --- internals -----------------------------------------------------------------------------

    def _insert(self, number: int, policy: TrustPolicy, changes: list[dict[str, Any]],
                actor: str, reason: str, rollback_of: int | None) -> PolicyVersion | None:
        """Record version ``number``; None when another writer recorded it first."""
        row = TrustPolicyVersion(version=number, created_at=time.time(), actor=actor[:200],
                                 reason=reason, document=policy.as_json(), diff=changes,
                                 rollback_of=rollback_of)
        try:
            with dbm.transaction(self._sessions) as db:
                db.add(row)
                db.flush()  # the version number taken (or IntegrityError) before the entry
                if self._audit is not None:
                    self._audit.record("trust.policy.changed", actor=audit_actor(actor),
                                       target=str(number), details=change_summary(
                                           number, actor, reason, changes, rollback_of), db=db)
        except IntegrityError:
            return None
        return _version(row)

    def _seed(self) -> PolicyVersion:
        cas, policy = seed_policy(self._settings, self._shipped_dir)
        self._store(cas)
        recorded = self._insert(1, policy, diff(None, policy), SEED_ACTOR,
                                "first version, from the settings (trust.sign, trust.auth) and "
                                "the anchor directory", None)
        if recorded is not None:
            return recorded
        return self.current()  # another process seeded it first

    def _store(self, cas: Iterable[CaCertificate]) -> None:
        for ca in cas:
            with self._reads() as db:
                if db.get(TrustCaCertificate, ca.fingerprint) is not None:
                    continue
            try:
                with dbm.transaction(self._sessions) as db:
                    db.add(TrustCaCertificate(fingerprint=ca.fingerprint, der=ca.der,
                                              added_at=time.time()))
            except IntegrityError:
                pass  # stored meanwhile by another writer: the same bytes

    def _with_certificate_facts(self, policy: TrustPolicy) -> TrustPolicy:
        """``policy`` with each anchor's subject and validity taken from its stored certificate
        (a document says which CA and how it is trusted, not what the certificate holds);
        refused when it names a certificate never added."""
        stored = self.certificates(a.fingerprint for a in policy.anchors)
        missing = sorted({a.fingerprint for a in policy.anchors} - stored.keys())
        if missing:
            raise TrustPolicyError("unknown CA certificate(s) " + ", ".join(
                m[:12] for m in missing) + ": add them first (`idp trust anchors add`)")
        return policy.model_copy(update={"anchors": tuple(
            entry.model_copy(update=_facts(stored[entry.fingerprint]))
            for entry in policy.anchors)})

    def _set_enabled(self, enabled: bool, actor: str, reason: str, fingerprint: str | None,
                     purpose: str | None, medium: str | None,
                     generation: str | None) -> PolicyVersion:
        if fingerprint is None and purpose is None and medium is None and generation is None:
            raise TrustPolicyError("name the CA: a fingerprint, or --purpose/--medium/"
                                   "--generation")
        if purpose is not None:
            _check_name(purpose, PURPOSES, "purpose")
        if medium is not None:
            _check_name(medium, MEDIA, "medium")
        wanted = (fingerprint or "").lower().replace(":", "")

        def matches(entry: AnchorEntry) -> bool:
            return (entry.fingerprint.startswith(wanted)
                    and purpose in (None, entry.purpose) and medium in (None, entry.medium)
                    and generation in (None, entry.generation))

        verb = "enable" if enabled else "retire"
        what = _selector(wanted, purpose, medium, generation)

        def change(policy: TrustPolicy) -> TrustPolicy:
            chosen = [a for a in policy.anchors if matches(a)]
            if not chosen:
                raise TrustPolicyError(f"no trust anchor matches ({what}); see "
                                       "`idp trust show`")
            if wanted and len({a.fingerprint for a in chosen}) > 1:
                raise TrustPolicyError(f"fingerprint {wanted!r} names several CAs; give more "
                                       "of it")
            return policy.model_copy(update={"anchors": tuple(
                a.model_copy(update={"enabled": enabled}) if matches(a) else a
                for a in policy.anchors)})

        return self.commit(change, actor=actor, reason=reason or f"{verb} {what}")


def audit_actor(actor: str) -> str:
    """Who changed the policy, as the audit log names actors: ``admin:<name>`` and
    ``cli:<user>`` as recorded in the version, ``system`` for the first version."""
    return audit_entries.system() if actor == SEED_ACTOR else actor[:200]


def change_summary(number: int, actor: str, reason: str, changes: list[dict[str, Any]],
                   rollback_of: int | None) -> dict[str, Any]:
    """The ``trust.policy.changed`` entry's details: the version, who and why, and what
    changed: every changed path, with its old and new value where that is one value (a
    method, a staleness, a flag); a list or object (the anchors) by its path only, the whole
    diff staying in the version's history (``idp trust policy history``)."""
    def plain(value: Any) -> bool:
        return value is None or isinstance(value, str | int | bool)

    return {"version": number, "previous": number - 1, "rollback_of": rollback_of,
            "recorded_actor": actor[:200], "reason": reason[:500],
            "paths": [str(c.get("path")) for c in changes][:100],
            "diff": [{"path": str(c.get("path")), "from": c.get("from"), "to": c.get("to")}
                     for c in changes if plain(c.get("from")) and plain(c.get("to"))][:100]}


def _selector(fingerprint: str, purpose: str | None, medium: str | None,
              generation: str | None) -> str:
    parts = [f"fingerprint {fingerprint}"] if fingerprint else []
    parts += [f"{name} {value}" for name, value in (("purpose", purpose), ("medium", medium),
                                                   ("generation", generation)) if value]
    return ", ".join(parts)


def _check_name(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise TrustPolicyError(f"unknown {what} {value!r} (one of {', '.join(allowed)})")
    return value


def _newest() -> Any:
    return select(TrustPolicyVersion).order_by(TrustPolicyVersion.version.desc()).limit(1)


def _version(row: TrustPolicyVersion) -> PolicyVersion:
    return PolicyVersion(row.version, datetime.fromtimestamp(row.created_at, UTC), row.actor,
                         row.reason, TrustPolicy.model_validate(row.document),
                         tuple(row.diff or ()), row.rollback_of)


def _facts(certificate: x509.Certificate) -> dict[str, str]:
    return {"subject": certificate.subject.rfc4514_string(),
            "not_before": certificate.not_valid_before_utc.isoformat(),
            "not_after": certificate.not_valid_after_utc.isoformat()}


def _medium(certificate: x509.Certificate) -> MediumName:
    return "smartphone" if medium_of(certificate.subject) is Medium.PHONE else "card"


# --- the first version: what the instance used before the policy was data -------------------

def seed_policy(settings: Settings, shipped_dir: Path | None = SHIPPED_ANCHORS_DIR
                ) -> tuple[list[CaCertificate], TrustPolicy]:
    """The policy an instance has been running with: the revocation rules of ``trust.sign`` and
    ``trust.auth``, every certificate in the anchor directory trusted, the shipped J-LIS CAs
    listed but retired (unless the directory holds them too), the default reason mapping and
    every medium allowed IAL2."""
    cas: list[CaCertificate] = []
    entries: list[AnchorEntry] = []
    for enabled, directory in ((True, settings.anchors_dir), (False, shipped_dir)):
        if directory is None:
            continue
        for purpose, ca, path in _directory_cas(directory):
            if any(e.fingerprint == ca.fingerprint and e.purpose == purpose for e in entries):
                continue
            cas.append(ca)
            entries.append(entry_for(ca, purpose, medium=_medium(ca.certificate),
                                     enabled=enabled, source=str(path)))
    policy = TrustPolicy(
        anchors=tuple(entries),
        revocation={"sign": rule_of(settings.trust.sign), "auth": rule_of(settings.trust.auth)},
        reasons=ReasonMapping(), media={"card": MediumRule(), "smartphone": MediumRule()})
    return cas, policy


def rule_of(policy: RevocationPolicy) -> RevocationRule:
    return RevocationRule(method=policy.method, max_ocsp_age_seconds=policy.max_ocsp_age_seconds,
                          max_crl_staleness_seconds=policy.max_crl_staleness_seconds,
                          fail_closed=policy.fail_closed)


def revocation_policy(rule: RevocationRule) -> RevocationPolicy:
    """The trust core's per-purpose policy (``idp.settings.RevocationPolicy``) of ``rule``: its
    revocation check fails closed only when every level does (a per-level rule is applied by
    the anchor check, which knows the level a login asks for)."""
    return RevocationPolicy(method=rule.method, max_ocsp_age_seconds=rule.max_ocsp_age_seconds,
                            max_crl_staleness_seconds=rule.max_crl_staleness_seconds,
                            fail_closed=rule.fails_closed_everywhere)


def _directory_cas(directory: Path) -> list[tuple[PurposeName, CaCertificate, Path]]:
    """The certificates of ``{directory}/sign`` and ``/auth``, as the anchor directory has always
    been read: a certificate there that is not a proper CA is kept (logged), not dropped, so
    seeding changes nothing; a file that is no certificate at all is a configuration error."""
    found: list[tuple[PurposeName, CaCertificate, Path]] = []
    purposes: tuple[PurposeName, ...] = ("sign", "auth")
    for purpose in purposes:
        folder = directory / purpose
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in _SUFFIXES):
            data = path.read_bytes()
            try:
                found += [(purpose, ca, path) for ca in read_ca_certificates(data, str(path))]
            except TrustPolicyError as error:
                found += [(purpose, ca, path) for ca in _lenient(data, path, error)]
    return found


def _lenient(data: bytes, path: Path, error: IdpError) -> list[CaCertificate]:
    try:
        certificates = (x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data
                        else [x509.load_der_x509_certificate(data)])
    except ValueError as exc:
        raise ConfigurationError(f"trust anchor {path} is not a certificate: {exc}") from exc
    log.warning("trust anchor %s kept in the first trust policy version although %s", path,
                error.description)
    return [CaCertificate(c.public_bytes(Encoding.DER), c) for c in certificates]
