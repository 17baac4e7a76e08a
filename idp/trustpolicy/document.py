"""The trust policy document: what one version of the policy says, validated. Pure: no I/O.

A version holds the whole policy (never a patch), so any version can be made current again as
it was. ``TrustPolicy`` validates every field; ``read_ca_certificate`` refuses a file that is not
a CA certificate; ``diff`` says what changed between two versions, field by field.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from idp.errors import IdpError
from idp.jpki.errors import RevocationReason

PurposeName = Literal["sign", "auth"]
LevelName = Literal["ial1", "ial2"]
LEVELS: tuple[LevelName, ...] = ("ial1", "ial2")
MediumName = Literal["card", "smartphone"]
MethodName = Literal["ocsp", "crl", "ocsp_then_crl"]
CardState = Literal["suspended", "closed"]
PURPOSES: tuple[PurposeName, ...] = ("sign", "auth")
MEDIA: tuple[MediumName, ...] = ("card", "smartphone")
REASONS = tuple(reason.value for reason in RevocationReason)


class TrustPolicyError(IdpError):
    """The trust policy change was refused; nothing was changed."""

    code = "invalid_trust_policy"
    status = 400


class TrustPolicyConflictError(TrustPolicyError):
    """The trust policy changed since it was read; read it again and redo the change."""

    code = "trust_policy_conflict"
    status = 409


class TrustPolicyVersionNotFoundError(TrustPolicyError):
    """There is no such version of the trust policy."""

    code = "not_found"
    status = 404


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AnchorEntry(_Part):
    """One CA generation: trusted (``enabled``) or retired. The certificate itself is stored once
    by its SHA-256 ``fingerprint`` (table ``trust_ca_certificates``)."""

    fingerprint: str = Field(pattern=r"^[0-9a-f]{64}$",
                             description="SHA-256 of the DER certificate, lower-case hex.")
    purpose: PurposeName = Field(description="sign (署名用) or auth (利用者証明用).")
    medium: MediumName = Field(description="card (My Number Card) or smartphone (スマホ用).")
    generation: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z._-]+$",
                            description="The CA generation, by default its first year: 2023.")
    enabled: bool = Field(description="Trusted now; false: retired, its certificates refused.")
    subject: str = Field(description="The CA's subject DN (RFC 4514), for people.")
    not_before: str = Field(description="Validity start, ISO 8601 UTC.")
    not_after: str = Field(description="Validity end, ISO 8601 UTC.")
    source: str = Field("", max_length=300, description="Where it came from (a file name).")

    @property
    def key(self) -> str:
        """How a diff names this entry: purpose/medium/generation and the fingerprint's start."""
        return f"{self.purpose}/{self.medium}/{self.generation}/{self.fingerprint[:12]}"


class RevocationRule(_Part):
    """How one purpose's revocation status is obtained and when it is trusted."""

    method: MethodName = Field("ocsp_then_crl", description="ocsp, crl, or ocsp_then_crl (OCSP "
                               "first, the CRL only when OCSP is unavailable).")
    max_ocsp_age_seconds: int = Field(300, ge=0, description="How old an OCSP thisUpdate may be.")
    max_crl_staleness_seconds: int = Field(0, ge=0, description="How long past nextUpdate a CRL "
                                           "may still be used (0: not at all).")
    fail_closed: bool | dict[LevelName, bool] = Field(
        True, description="Refuse when the status cannot be established (false: go on at the "
        "reduced level, identity not proven). One flag for every level, or one per identity "
        "level a relying party asks for: {\"ial1\": false, \"ial2\": true} lets a login that "
        "asks for no more than IAL1 go on degraded and refuses one that asks for IAL2.")

    @field_validator("fail_closed")
    @classmethod
    def _every_level(cls, value: bool | dict[LevelName, bool]) -> bool | dict[LevelName, bool]:
        if isinstance(value, dict):
            missing = [level for level in LEVELS if level not in value]
            if missing:
                raise ValueError(f"fail_closed names no rule for {', '.join(missing)} (give "
                                 f"every level: {', '.join(LEVELS)}; or one flag for all)")
            return {level: value[level] for level in LEVELS}
        return value

    def fails_closed_at(self, ial: int) -> bool:
        """Whether a login asking for identity level ``ial`` is refused when this purpose's
        status cannot be established."""
        if isinstance(self.fail_closed, bool):
            return self.fail_closed
        level: LevelName = "ial2" if ial >= 2 else "ial1"
        return self.fail_closed[level]

    def fail_closed_text(self) -> str:
        """``true``, or one flag per level: ``ial1=false ial2=true``."""
        if isinstance(self.fail_closed, bool):
            return str(self.fail_closed).lower()
        return " ".join(f"{level}={str(flag).lower()}" for level, flag in
                        self.fail_closed.items())

    @property
    def fails_closed_everywhere(self) -> bool:
        """Whether every level fails closed: then the revocation check itself refuses (a card
        answer is refused at once); otherwise it lets an unknown status through and the anchor
        check weighs it against the level the login asks for."""
        if isinstance(self.fail_closed, bool):
            return self.fail_closed
        return all(self.fail_closed.values())


# The default reading (idp.accounts.anchor_policy.AnchorPolicy's defaults).
_CPS_CARD_REVOCATION: dict[str, CardState] = {
    "certificateHold": "suspended", "cessationOfOperation": "suspended",
    "keyCompromise": "suspended", "affiliationChanged": "closed"}


class ReasonMapping(_Part):
    """What a CRL reason means for the private ID (``idp.accounts.anchor_policy``)."""

    reading: str = Field("cps", max_length=40, description="A name for this reading: cps (the "
                         "current J-LIS CPS, default), seed001, or your own.")
    card_revocation: dict[str, CardState] = Field(
        default_factory=lambda: dict(_CPS_CARD_REVOCATION),
        description="Both certificates revoked for this reason (of the auth certificate) → the "
        "private ID's state; a reason not listed suspends.")
    reissue_reasons: tuple[str, ...] = Field(
        ("affiliationChanged", "superseded", "unspecified"),
        description="Reasons that, on the signing certificate alone, mean the card is fine and "
        "the 4 info or the certificate changed: re-issue.")

    @field_validator("card_revocation")
    @classmethod
    def _known_card_reasons(cls, value: dict[str, str]) -> dict[str, str]:
        for reason in value:
            _known_reason(reason)
        return value

    @field_validator("reissue_reasons")
    @classmethod
    def _known_reissue_reasons(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for reason in value:
            _known_reason(reason)
        return tuple(sorted(set(value)))


# The two readings of the reasons (docs/trust-core.md, "Revocation reasons"): the current CPS
# (default), and seed 001's, where affiliationChanged means death or moving abroad, never a
# change of the 4 info, so on the signing certificate alone (the auth certificate's status
# unknown) it is not a re-issue but the card-level reason it names (closed).
READINGS: dict[str, dict[str, Any]] = {
    "cps": {"reading": "cps", "card_revocation": dict(_CPS_CARD_REVOCATION),
            "reissue_reasons": ["affiliationChanged", "superseded", "unspecified"]},
    "seed001": {"reading": "seed001", "card_revocation": dict(_CPS_CARD_REVOCATION),
                "reissue_reasons": ["superseded", "unspecified"]},
}


def _known_reason(reason: str) -> None:
    if reason not in REASONS:
        raise ValueError(f"unknown revocation reason {reason!r} (one of {', '.join(REASONS)})")


class MediumRule(_Part):
    """How far a login anchored on this medium's certificates may go."""

    max_ial: Literal[1, 2] = Field(2, description="The highest identity assurance level (IAL) "
                                   "an anchor on this medium proves: 2, or 1 (identity claims "
                                   "withheld, as for an unverifiable anchor).")


def _default_revocation() -> dict[PurposeName, RevocationRule]:
    return {purpose: RevocationRule() for purpose in PURPOSES}


def _default_media() -> dict[MediumName, MediumRule]:
    return {medium: MediumRule() for medium in MEDIA}


class TrustPolicy(_Part):
    """One version of the trust policy."""

    anchors: tuple[AnchorEntry, ...] = Field((), description="The CA generations, trusted or "
                                             "retired.")
    revocation: dict[PurposeName, RevocationRule] = Field(default_factory=_default_revocation)
    reasons: ReasonMapping = Field(default_factory=ReasonMapping)
    media: dict[MediumName, MediumRule] = Field(default_factory=_default_media)

    @field_validator("anchors")
    @classmethod
    def _one_entry_per_certificate(cls, value: tuple[AnchorEntry, ...]
                                   ) -> tuple[AnchorEntry, ...]:
        seen: set[tuple[str, str]] = set()
        for entry in value:
            if (entry.fingerprint, entry.purpose) in seen:
                raise ValueError(f"CA {entry.fingerprint[:12]} is listed twice for "
                                 f"{entry.purpose}")
            seen.add((entry.fingerprint, entry.purpose))
        return value

    @field_validator("revocation")
    @classmethod
    def _every_purpose(cls, value: dict[PurposeName, RevocationRule]
                       ) -> dict[PurposeName, RevocationRule]:
        missing = [p for p in PURPOSES if p not in value]
        if missing:
            raise ValueError(f"no revocation rule for {', '.join(missing)}")
        return value

    @field_validator("media")
    @classmethod
    def _every_medium(cls, value: dict[MediumName, MediumRule]) -> dict[MediumName, MediumRule]:
        missing = [m for m in MEDIA if m not in value]
        if missing:
            raise ValueError(f"no rule for medium {', '.join(missing)}")
        return value

    def enabled(self, purpose: PurposeName | None = None) -> tuple[AnchorEntry, ...]:
        return tuple(a for a in self.anchors if a.enabled and purpose in (None, a.purpose))

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = self.model_dump(mode="json")
        return data


def parse_policy(data: Any) -> TrustPolicy:
    """Validate ``data`` (a JSON object) as a whole policy, or raise TrustPolicyError naming every
    field that is wrong."""
    try:
        return TrustPolicy.model_validate(data)
    except ValidationError as error:
        raise TrustPolicyError("invalid trust policy: " + _describe(error)) from None


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "policy"
        message = str(item["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


# --- setting one value by its path ------------------------------------------------------------

# Settings-style names (`trust.sign.method` in idp.toml) are accepted for the revocation rules.
_ALIASES = {"sign": "revocation.sign", "auth": "revocation.auth",
            "trust.sign": "revocation.sign", "trust.auth": "revocation.auth"}
SETTABLE = ("revocation.{sign|auth}.{method|max_ocsp_age_seconds|max_crl_staleness_seconds|"
            "fail_closed}", "revocation.{sign|auth}.fail_closed.{ial1|ial2}",
            "reasons (cps|seed001: a whole reading)", "reasons.reading",
            "reasons.card_revocation.<REASON>", "reasons.reissue_reasons",
            "media.{card|smartphone}.max_ial")


def parse_value(text: str) -> Any:
    """A CLI value: JSON when it parses (numbers, true/false, lists), else the text itself; a
    comma-separated list for ``reasons.reissue_reasons``."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def with_value(policy: TrustPolicy, key: str, value: Any) -> TrustPolicy:
    """``policy`` with the field at ``key`` (dotted) set to ``value``, validated."""
    path = _canonical(key)
    data = policy.as_json()
    if path[0] == "anchors":
        raise TrustPolicyError("anchors are changed with `idp trust anchors add|retire|enable`, "
                               "not by key")
    if path == ["reasons"]:
        if value not in READINGS:
            raise TrustPolicyError(f"unknown reading {value!r} of the revocation reasons (one "
                                   f"of {', '.join(READINGS)}); set single reasons with "
                                   "reasons.card_revocation.<REASON>")
        data["reasons"] = READINGS[value]
        return parse_policy(data)
    if path == ["reasons", "reissue_reasons"] and isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if path[0] == "revocation" and len(path) >= 3 and path[2] == "fail_closed":
        return _with_fail_closed(data, key, path, value)
    if path[:2] == ["reasons", "card_revocation"] and len(path) == 3:
        _reason_key(path[2])
        if value in (None, "", "default"):
            data["reasons"]["card_revocation"].pop(path[2], None)
            return parse_policy(data)
    node = data
    for depth, part in enumerate(path[:-1]):
        if not isinstance(node, dict) or part not in node:
            raise _unknown_key(key, ".".join(path[:depth + 1]))
        node = node[part]
    leaf = path[-1]
    if not isinstance(node, dict) or (leaf not in node and path[:2] != ["reasons",
                                                                         "card_revocation"]):
        raise _unknown_key(key, ".".join(path))
    if isinstance(node.get(leaf), dict):
        raise TrustPolicyError(f"{key} is a group of settings; set one of its fields: "
                               f"{', '.join(f'{key}.{k}' for k in node[leaf])}")
    node[leaf] = value
    return parse_policy(data)


def _with_fail_closed(data: dict[str, Any], key: str, path: list[str],
                      value: Any) -> TrustPolicy:
    """``revocation.<purpose>.fail_closed`` set whole (a flag, or an object per level), or one
    level of it (``….fail_closed.ial2``: a single flag becomes one per level first)."""
    rule = data["revocation"].get(path[1])
    if rule is None or len(path) > 4:
        raise _unknown_key(key, ".".join(path[:2]) if rule is None else key)
    if len(path) == 3:
        rule["fail_closed"] = value
        return parse_policy(data)
    if path[3] not in LEVELS:
        raise TrustPolicyError(f"unknown level {path[3]!r} in {key} (one of "
                               f"{', '.join(LEVELS)})")
    current = rule["fail_closed"]
    levels = dict(current) if isinstance(current, dict) else dict.fromkeys(LEVELS, current)
    levels[path[3]] = value
    rule["fail_closed"] = levels
    return parse_policy(data)


def _canonical(key: str) -> list[str]:
    for alias, target in _ALIASES.items():
        if key == alias or key.startswith(alias + "."):
            key = target + key[len(alias):]
            break
    parts = key.split(".")
    if not key or any(not part for part in parts):
        raise _unknown_key(key, key)
    return parts


def _reason_key(reason: str) -> None:
    try:
        _known_reason(reason)
    except ValueError as error:
        raise TrustPolicyError(str(error)) from None


def _unknown_key(key: str, where: str) -> TrustPolicyError:
    return TrustPolicyError(f"unknown trust policy key {key!r} (no {where!r}); the keys are "
                            + ", ".join(SETTABLE))


# --- CA certificates ----------------------------------------------------------------------------

@dataclass(frozen=True)
class CaCertificate:
    """A CA certificate as read from a file: DER, and what the policy records of it."""

    der: bytes
    certificate: x509.Certificate

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.der).hexdigest()

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    @property
    def year(self) -> str:
        return f"{self.certificate.not_valid_before_utc:%Y}"


def read_ca_certificates(data: bytes, name: str = "the file") -> list[CaCertificate]:
    """Every certificate in ``data`` (PEM, one or more; or DER), each checked to be a CA
    certificate: basicConstraints cA and keyUsage keyCertSign. Raises TrustPolicyError."""
    try:
        if b"-----BEGIN" in data:
            certificates = x509.load_pem_x509_certificates(data)
        else:
            certificates = [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise TrustPolicyError(f"{name} is not an X.509 certificate (PEM or DER)") from None
    return [_ca(certificate, name) for certificate in certificates]


def _ca(certificate: x509.Certificate, name: str) -> CaCertificate:
    subject = certificate.subject.rfc4514_string()
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise TrustPolicyError(f"{name} ({subject}) is not a CA certificate: it lacks "
                               "basicConstraints or keyUsage") from None
    except ValueError:
        raise TrustPolicyError(f"{name} ({subject}) has malformed extensions") from None
    if not constraints.ca:
        raise TrustPolicyError(f"{name} ({subject}) is not a CA certificate: basicConstraints "
                               "says cA false (an end-entity certificate such as a card's)")
    if not usage.key_cert_sign:
        raise TrustPolicyError(f"{name} ({subject}) is not a CA certificate: its keyUsage lacks "
                               "keyCertSign")
    return CaCertificate(certificate.public_bytes(Encoding.DER), certificate)


def entry_for(ca: CaCertificate, purpose: PurposeName, *, medium: MediumName,
              generation: str | None = None, enabled: bool = True,
              source: str = "") -> AnchorEntry:
    try:
        return AnchorEntry(
            fingerprint=ca.fingerprint, purpose=purpose, medium=medium,
            generation=generation or ca.year, enabled=enabled, subject=ca.subject,
            not_before=ca.certificate.not_valid_before_utc.isoformat(),
            not_after=ca.certificate.not_valid_after_utc.isoformat(), source=source[-300:])
    except ValidationError as error:
        raise TrustPolicyError("invalid trust anchor: " + _describe(error)) from None


# --- what changed ----------------------------------------------------------------------------

def diff(before: TrustPolicy | None, after: TrustPolicy) -> list[dict[str, Any]]:
    """The changes from ``before`` to ``after``: ``{"path", "from", "to"}`` per field that
    differs (anchors named by ``AnchorEntry.key``; ``from``/``to`` null when added/removed)."""
    old = dict(_flatten(before.as_json())) if before is not None else {}
    new = dict(_flatten(after.as_json()))
    return [{"path": path, "from": old.get(path), "to": new.get(path)}
            for path in sorted(old.keys() | new.keys(), key=_order)
            if old.get(path) != new.get(path)]


def _order(path: str) -> tuple[int, str]:
    return (0 if path.startswith("anchors") else 1, path)


def _flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for name, value in data.items():
        path = f"{prefix}{name}"
        if name == "anchors" and not prefix:
            for anchor in value:
                key = AnchorEntry.model_validate(anchor).key
                yield from _flatten({k: v for k, v in anchor.items() if k != "fingerprint"},
                                    f"anchors[{key}].")
        elif isinstance(value, dict) and value:
            yield from _flatten(value, path + ".")
        elif isinstance(value, list | tuple):
            yield path, list(value)
        else:
            yield path, value


def describe_change(change: Mapping[str, Any]) -> str:
    """One line of a diff for people: ``path: before → after``."""
    def show(value: Any) -> str:
        return "(none)" if value is None else json.dumps(value, ensure_ascii=False)
    return f"{change['path']}: {show(change['from'])} → {show(change['to'])}"
