"""The client of J-LIS's verifier services (CRL, OCSP, serial links, 4-info provision, age)."""

from idp.jlis.breaker import BreakerJlisClient, BreakerState, CircuitBreaker
from idp.jlis.errors import (
    JlisError,
    JlisNotFoundError,
    JlisProtocolError,
    JlisRefusedError,
    JlisUnavailableError,
)
from idp.jlis.http import HttpJlisClient
from idp.jlis.values import (
    AgeAnswer,
    Basic4Answer,
    Basic4Consent,
    CaInfo,
    JlisClient,
    Metering,
    PairLink,
    PreviousSerials,
)

__all__ = [
    "AgeAnswer", "Basic4Answer", "Basic4Consent", "BreakerJlisClient", "BreakerState", "CaInfo",
    "CircuitBreaker", "HttpJlisClient", "JlisClient",
    "JlisError", "JlisNotFoundError", "JlisProtocolError", "JlisRefusedError",
    "JlisUnavailableError", "Metering", "PairLink", "PreviousSerials",
]
