"""Metering: the validity checks the IdP makes for each relying party, counted and priced.

J-LIS charges a verifier for each validity check of a certificate (seed 001: 20 yen for a signing
certificate, 2 yen for an auth certificate by OCSP; a CRL's use per certificate a month). The IdP
counts every check as it is made (:class:`Meter`, wrapped around the revocation sources in
``idp.bootstrap.trust``), charged to the relying party the request serves (``context``), and
prices a month by the settings' table (:class:`MeteringReport`).
"""

from idp.metering.context import NO_RP, RECHECK, bind_client, current_client, on_behalf_of
from idp.metering.counter import Meter, certificate_key, month_of
from idp.metering.report import BadMonthError, MeteringReport, MeteringRow, parse_month

__all__ = [
    "NO_RP", "RECHECK", "BadMonthError", "Meter", "MeteringReport", "MeteringRow",
    "bind_client", "certificate_key", "current_client", "month_of", "on_behalf_of",
    "parse_month",
]
