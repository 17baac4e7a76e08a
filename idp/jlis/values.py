"""The values the J-LIS verifier API returns, frozen; and the ``JlisClient`` protocol."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol

from idp.jpki.profile import Basic4Info

Purpose = Literal["sign", "auth"]
CertificateStatus = Literal["valid", "invalid", "unknown"]


@dataclass(frozen=True, slots=True)
class CaInfo:
    """One CA generation as ``GET /v1/cas`` lists it."""

    ca_id: str
    purpose: Purpose
    medium: str
    label: str
    certificate: bytes  # DER
    key_id: bytes  # subjectKeyIdentifier
    crl_url: str
    ocsp_url: str


@dataclass(frozen=True, slots=True)
class PairLink:
    """The signing and auth certificates currently issued on one card."""

    sign_serial: str | None
    auth_serial: str | None


@dataclass(frozen=True, slots=True)
class PreviousSerials:
    """新旧シリアル番号紐付け: the serials a certificate replaced, newest first."""

    serial: str
    previous_serials: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Basic4Consent:
    """The holder's signed consent to a 4-info provision (``POST /v1/basic4``)."""

    certificate: bytes  # DER of the holder's current signing certificate
    to_be_signed: bytes
    consent_text: str
    signature: bytes


@dataclass(frozen=True, slots=True)
class Basic4Answer:
    """The latest 4 info of the person, as of ``as_of``, with their current signing serial."""

    serial: str
    basic4: Basic4Info
    as_of: datetime


@dataclass(frozen=True, slots=True)
class AgeAnswer:
    """Whether the holder is at least N years old; ``over`` is None when J-LIS cannot say."""

    over: bool | None
    certificate_status: CertificateStatus


@dataclass(frozen=True, slots=True)
class Metering:
    verifier_id: str
    checks: dict[str, int]
    yen: int


class JlisClient(Protocol):
    """What the IdP asks J-LIS (``HttpJlisClient`` speaks ``docs/jlis-api.md``)."""

    def list_cas(self) -> tuple[CaInfo, ...]: ...

    def fetch_crl(self, ca_id: str) -> bytes: ...

    def fetch_crl_by_key(self, key_id: bytes) -> bytes: ...

    def ocsp(self, request_der: bytes) -> bytes: ...

    def pair_link(self, serial: str, purpose: Purpose) -> PairLink: ...

    def previous_serials(self, serial: str, purpose: Purpose) -> PreviousSerials: ...

    def basic4(self, serial: str, consent: Basic4Consent) -> Basic4Answer: ...

    def age(self, serial: str, purpose: Purpose, age: int, on: date) -> AgeAnswer: ...

    def metering(self, since: datetime | None = None) -> Metering: ...
