"""The acr catalogue: every Authentication Context Class Reference this IdP can assert.

A value is defined by what happened at login, not by a name: how the identity was proven (IAL,
and whether the anchor's revocation status was asked of OCSP during this login or read from a
CRL within policy: ``checked_now``) and what the authenticator was (AAL, and its ``features``:
``card`` the JPKI card with its PIN, ``phr`` a phishing-resistant, origin-bound passkey). Each
value is mapped to NIST SP 800-63-4 (IAL/AAL), eIDAS (Regulation 910/2014 Art. 8) and the
Digital Agency's guideline DS-511 (身元確認/当人認証保証レベル) so that a relying party picks the
value its risk needs (seed 004, point 4); docs/assurance.md gives the reasoning.

Values are partially ordered: a session at ``a`` meets a request for ``b`` when ``a`` has at
least ``b``'s IAL and AAL, was checked now if ``b`` needs it, and has every feature ``b`` names
(:meth:`AcrLevel.implies`). ``ial2-aal2`` thus does not imply ``ial2-aal2-now``, and a card
login does not imply ``phr``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Eidas(StrEnum):
    LOW = "low"
    SUBSTANTIAL = "substantial"
    HIGH = "high"


CARD = "card"  # the JPKI auth key, certified by J-LIS to live in the card's chip, + its PIN
PHR = "phr"  # phishing resistant: the authenticator is bound to this IdP's origin (WebAuthn)


@dataclass(frozen=True)
class AcrLevel:
    value: str
    ial: int
    aal: int
    eidas: Eidas
    ds511: tuple[int, int]  # DS-511 (身元確認保証レベル, 当人認証保証レベル)
    description: str
    checked_now: bool = False  # the anchor's status was asked of OCSP during this login
    features: frozenset[str] = frozenset()

    def implies(self, other: AcrLevel) -> bool:
        """A session at this value also meets ``other`` (the partial order)."""
        return (self.ial >= other.ial and self.aal >= other.aal
                and (self.checked_now or not other.checked_now)
                and other.features <= self.features)


_NS = "urn:jpki-idp:acr:"
_IAL1 = "the identity is not proven by a valid JPKI signing certificate"
_IAL2 = "identity proven by a valid JPKI signing certificate (CRL within policy or OCSP)"
_NOW = "identity proven by a JPKI signing certificate whose status OCSP confirmed during this login"


def _level(name: str, ial: int, eidas: Eidas, what: str, *features: str,
           now: bool = False) -> AcrLevel:
    # Every authenticator here is multi-factor and cryptographic, none claims AAL3 (the card is
    # not bound to our origin; passkeys are not attested): AAL2, DS-511 当人認証 level 2.
    return AcrLevel(_NS + name, ial, 2, eidas, (ial, 2), what, now, frozenset(features))


# Requested by relying parties; the first two are the historic values, kept unchanged.
IAL1_AAL2 = _level("ial1-aal2", 1, Eidas.LOW, f"Two factors; {_IAL1}.")
IAL2_AAL2 = _level("ial2-aal2", 2, Eidas.SUBSTANTIAL, f"Two factors; {_IAL2}.")
IAL2_AAL2_NOW = _level("ial2-aal2-now", 2, Eidas.SUBSTANTIAL, f"Two factors; {_NOW}.",
                       now=True)
# OpenID Connect EAP ACR Values 1.0: phishing-resistant authentication, identity not implied.
PHR_LEVEL = AcrLevel(PHR, 1, 2, Eidas.LOW, (1, 2),
                     "Phishing-resistant authentication (a passkey with user verification).",
                     features=frozenset({PHR}))

# What a session records: one value per evidence (idp.assurance.evidence.level_for).
IAL1_AAL2_CARD = _level("ial1-aal2-card", 1, Eidas.LOW, f"Card + PIN; {_IAL1}.", CARD)
IAL1_AAL2_PHR = _level("ial1-aal2-phr", 1, Eidas.LOW, f"Passkey with UV; {_IAL1}.", PHR)
IAL2_AAL2_CARD = _level("ial2-aal2-card", 2, Eidas.SUBSTANTIAL, f"Card + PIN; {_IAL2}.", CARD)
IAL2_AAL2_PHR = _level("ial2-aal2-phr", 2, Eidas.SUBSTANTIAL, f"Passkey with UV; {_IAL2}.", PHR)
IAL2_AAL2_CARD_NOW = _level("ial2-aal2-card-now", 2, Eidas.SUBSTANTIAL, f"Card + PIN; {_NOW}.",
                            CARD, now=True)
IAL2_AAL2_PHR_NOW = _level("ial2-aal2-phr-now", 2, Eidas.SUBSTANTIAL,
                           f"Passkey with UV; {_NOW}.", PHR, now=True)

CATALOGUE: tuple[AcrLevel, ...] = (
    IAL1_AAL2, IAL2_AAL2, IAL2_AAL2_NOW, PHR_LEVEL, IAL1_AAL2_CARD, IAL1_AAL2_PHR,
    IAL2_AAL2_CARD, IAL2_AAL2_PHR, IAL2_AAL2_CARD_NOW, IAL2_AAL2_PHR_NOW)
_BY_VALUE = {level.value: level for level in CATALOGUE}


def supported_values() -> list[str]:
    """``acr_values_supported`` for discovery: the historic values first."""
    return [level.value for level in CATALOGUE]


def lookup(value: str) -> AcrLevel | None:
    return _BY_VALUE.get(value)


def proves_identity(acr: str | None) -> bool:
    """A session asserted at ``acr`` proved the person's identity (IAL2): only then are the
    identity claims drawn from the 4 info, ``verified_claims`` and the age claims released.
    A level the trust policy held to IAL1 (``media.<medium>.max_ial``), an anchor not current,
    an acr unknown here or none at all prove nothing."""
    level = lookup(acr) if acr else None
    return level is not None and level.ial >= 2


def requested_ial(requested: Iterable[str]) -> int | None:
    """The identity level a relying party asked for with ``requested`` acr values: the lowest
    IAL among the values known here (any of them would do: RFC 9470 lists preferences), or
    None when it asked for none of them. The trust policy's per-level fail-closed rule
    (``revocation.<purpose>.fail_closed``) is applied at this level."""
    found = [level.ial for value in requested if (level := lookup(value)) is not None]
    return min(found) if found else None


def satisfying(session_acr: str | None, requested: list[str]) -> str | None:
    """The value to assert for a session at ``session_acr`` when ``requested`` were asked for.

    The session's own value when it was asked for; otherwise, of the requested values the
    session implies, one no other met value implies (the most specific), the relying party's
    first preference among equals (RFC 9470 §4: in order of preference); None when none is met.
    """
    achieved = lookup(session_acr or "")
    if achieved is None:
        return None
    if achieved.value in requested:
        return achieved.value
    met = [lvl for v in requested if (lvl := lookup(v)) is not None and achieved.implies(lvl)]
    top = [lvl for lvl in met if not any(o.implies(lvl) and not lvl.implies(o) for o in met)]
    return top[0].value if top else None


def asserted(session_acr: str, requested: list[str]) -> str:
    """The ``acr`` a token carries: a requested value the session meets, else the historic value
    of the session's IAL (relying parties that ask nothing keep seeing ``ial1-aal2`` or
    ``ial2-aal2``); an acr unknown here is passed on as recorded."""
    met = satisfying(session_acr, requested) if requested else None
    if met is not None:
        return met
    achieved = lookup(session_acr)
    if achieved is None:
        return session_acr
    return (IAL2_AAL2 if achieved.implies(IAL2_AAL2) else IAL1_AAL2).value


def missing(session_acr: str | None, wanted: AcrLevel) -> frozenset[str]:
    """What a session lacks for ``wanted``: ``identity`` (a valid anchor), ``checked_now`` (an
    OCSP re-check now) and the authenticator features (``card``, ``phr``) it did not use."""
    achieved = lookup(session_acr or "")
    if achieved is None:
        return frozenset({"identity", *wanted.features} | (
            {"checked_now"} if wanted.checked_now else set()))
    lacks: set[str] = set(wanted.features - achieved.features)
    if wanted.ial > achieved.ial:
        lacks.add("identity")
    if wanted.checked_now and not achieved.checked_now:
        lacks.add("checked_now")
    return frozenset(lacks)
