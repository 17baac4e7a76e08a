"""Trust anchors: the JPKI CA certificates trusted per purpose.

J-LIS runs each CA in generations (2015, 2019, 2023…) that share one DN, so the issuer of a
certificate is chosen by key: first the anchor whose subjectKeyIdentifier equals the certificate's
authorityKeyIdentifier, then every other anchor of the same DN (a certificate without an AKI is
still checked against all of them; the signature decides).

Layout on disk: ``{anchors_dir}/sign/*`` and ``{anchors_dir}/auth/*``, each file PEM (one or more
certificates) or DER. The set is parsed once and shared; the hot path only looks up dicts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from idp.errors import ConfigurationError
from idp.jpki.certificate import JpkiCertificate, medium_of
from idp.jpki.profile import Medium, Purpose

_SUFFIXES = {".pem", ".crt", ".cer", ".der"}


@dataclass(frozen=True, slots=True)
class TrustAnchor:
    """One trusted CA generation."""

    purpose: Purpose
    certificate: x509.Certificate
    key_id: bytes  # subjectKeyIdentifier (computed from the key when the extension is absent)

    @property
    def subject(self) -> x509.Name:
        return self.certificate.subject

    @property
    def medium(self) -> Medium:
        return medium_of(self.certificate.subject)

    @property
    def label(self) -> str:
        """A human name for logs and errors: the DN and the first year of validity."""
        return f"{self.subject.rfc4514_string()} ({self.certificate.not_valid_before_utc:%Y})"


def anchor_from_certificate(purpose: Purpose, certificate: x509.Certificate) -> TrustAnchor:
    try:
        key_id = certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        key_id = x509.SubjectKeyIdentifier.from_public_key(certificate.public_key()).digest
    return TrustAnchor(purpose, certificate, key_id)


@dataclass(frozen=True)
class TrustAnchors:
    """The anchors per purpose, indexed by key id and by subject DN."""

    anchors: tuple[TrustAnchor, ...]
    _by_key: dict[tuple[Purpose, bytes], TrustAnchor] = field(init=False, repr=False,
                                                              compare=False)
    _by_name: dict[tuple[Purpose, x509.Name], tuple[TrustAnchor, ...]] = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[tuple[Purpose, x509.Name], list[TrustAnchor]] = {}
        for anchor in self.anchors:
            by_name.setdefault((anchor.purpose, anchor.subject), []).append(anchor)
        object.__setattr__(self, "_by_key", {(a.purpose, a.key_id): a for a in self.anchors})
        object.__setattr__(self, "_by_name", {k: tuple(v) for k, v in by_name.items()})

    @classmethod
    def of(cls, purpose: Purpose, certificates: Iterable[x509.Certificate]) -> TrustAnchors:
        return cls(tuple(anchor_from_certificate(purpose, c) for c in certificates))

    def __add__(self, other: TrustAnchors) -> TrustAnchors:
        return TrustAnchors(self.anchors + other.anchors)

    def for_purpose(self, purpose: Purpose) -> tuple[TrustAnchor, ...]:
        return tuple(a for a in self.anchors if a.purpose is purpose)

    def by_key_id(self, purpose: Purpose, key_id: bytes) -> TrustAnchor | None:
        return self._by_key.get((purpose, key_id))

    def candidates(self, certificate: JpkiCertificate,
                   purpose: Purpose) -> tuple[TrustAnchor, ...]:
        """Anchors that may have issued ``certificate``: AKI match first, then same-DN ones."""
        same_name = self._by_name.get((purpose, certificate.issuer), ())
        preferred = [a for a in same_name if a.key_id == certificate.authority_key_id]
        return tuple(preferred + [a for a in same_name if a not in preferred])


def load_anchors(directory: Path) -> TrustAnchors:
    """Read ``sign/`` and ``auth/`` under ``directory``; a missing directory trusts nothing."""
    anchors = TrustAnchors(())
    for purpose in Purpose:
        folder = directory / purpose.value
        if folder.is_dir():
            files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _SUFFIXES)
            anchors += TrustAnchors.of(purpose, _read_certificates(files))
    return anchors


def _read_certificates(files: Iterable[Path]) -> list[x509.Certificate]:
    certificates: list[x509.Certificate] = []
    for path in files:
        data = path.read_bytes()
        try:
            if b"-----BEGIN" in data:
                certificates.extend(x509.load_pem_x509_certificates(data))
            else:
                certificates.append(x509.load_der_x509_certificate(data))
        except ValueError as exc:
            raise ConfigurationError(f"trust anchor {path} is not a certificate: {exc}") from exc
    return certificates
