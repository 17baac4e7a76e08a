"""The acr catalogue: every Authentication Context Class Reference this IdP can assert.

Each value is mapped to NIST SP 800-63-4 (IAL/AAL) and eIDAS (Regulation 910/2014, Art. 8) so a
relying party can pick the level its use case's risk needs (seed 004, point 4). The catalogue is
deliberately small; docs/assurance.md explains each choice. ``rank`` orders the levels: a session
at a higher rank satisfies a request for any lower one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Eidas(StrEnum):
    LOW = "low"
    SUBSTANTIAL = "substantial"
    HIGH = "high"


@dataclass(frozen=True)
class AcrLevel:
    value: str
    rank: int
    ial: int
    aal: int
    eidas: Eidas
    description: str


# The person authenticated with two factors (JPKI card + PIN, or a passkey with user
# verification: SP 800-63B-4 §2.2) but the identity is not proven right now: no valid signing
# certificate anchors the private ID (a minor holding only the auth certificate, or an anchor
# revoked and awaiting re-issue).
IAL1_AAL2 = AcrLevel(
    value="urn:jpki-idp:acr:ial1-aal2", rank=1, ial=1, aal=2, eidas=Eidas.LOW,
    description="Authenticated with two factors; identity not proven by a valid JPKI signing "
    "certificate.",
)

# Identity proven remotely with the JPKI signing certificate (a state-issued digital credential
# whose signature and revocation status are verified: SP 800-63A-4 IAL2 remote proofing with
# cryptographic evidence; not IAL3, which needs supervised proofing), and authenticated with two
# factors (AAL2). eIDAS "substantial": JPKI itself would support "high", but the remote
# proofing and AAL2 authenticators do not.
IAL2_AAL2 = AcrLevel(
    value="urn:jpki-idp:acr:ial2-aal2", rank=2, ial=2, aal=2, eidas=Eidas.SUBSTANTIAL,
    description="Identity proven with a valid JPKI signing certificate; authenticated with two "
    "factors (card + PIN, or passkey with user verification).",
)

CATALOGUE: tuple[AcrLevel, ...] = (IAL1_AAL2, IAL2_AAL2)
_BY_VALUE = {level.value: level for level in CATALOGUE}


def supported_values() -> list[str]:
    """``acr_values_supported`` for discovery, lowest level first."""
    return [level.value for level in CATALOGUE]


def lookup(value: str) -> AcrLevel | None:
    return _BY_VALUE.get(value)


def satisfying(session_acr: str | None, requested: list[str]) -> str | None:
    """The value to assert for a session at ``session_acr`` when ``requested`` were asked for.

    The session's own value when it was asked for; otherwise the highest requested level the
    session dominates (a higher level implies every lower one); None when none is met.
    """
    achieved = lookup(session_acr or "")
    if achieved is None:
        return None
    if achieved.value in requested:
        return achieved.value
    met = [lvl for v in requested if (lvl := lookup(v)) is not None and lvl.rank <= achieved.rank]
    return max(met, key=lambda lvl: lvl.rank).value if met else None
