"""The metering counters (``idp.metering``): one row per month, relying party, kind and method,
and, for the CRL, one row per certificate checked that month (J-LIS charges a certificate's CRL
use once a month, however often it was looked up)."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base


class MeteredChecks(Base):
    """How many validity checks of one kind were made by one method for one relying party."""

    __tablename__ = "metering_checks"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "YYYY-MM", Japan time
    client_id: Mapped[str] = mapped_column(String(255), primary_key=True)  # or "none", "recheck"
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "sign" | "auth"
    method: Mapped[str] = mapped_column(String(8), primary_key=True)  # "ocsp" | "crl"
    count: Mapped[int] = mapped_column(Integer)


class MeteredCrlCertificate(Base):
    """A certificate whose status came from a CRL for one relying party in one month."""

    __tablename__ = "metering_crl_certificates"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    certificate: Mapped[str] = mapped_column(String(128), primary_key=True)  # "akid:serial" hex
