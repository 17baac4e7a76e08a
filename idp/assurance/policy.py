"""The login policy as tables of named checks, after node-oidc-provider's interaction policy.

Given what a relying party asked for (``Requirements``) and what the browser's session has
(``SessionFacts``), :func:`evaluate` answers which prompt the person must go through next
(``login`` or ``consent``) and why, or ``None`` when a code can be issued now. Each
:class:`Check` is one rule of OpenID Connect Core §3.1.2.1 (prompt, max_age, acr) or of our
consent model; reasons are stable strings shown in the interaction JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from idp.assurance.levels import satisfying


@dataclass(frozen=True)
class Requirements:
    prompt: frozenset[str] = frozenset()
    max_age: int | None = None
    acr_values: tuple[str, ...] = ()
    acr_essential: bool = False
    claims: frozenset[str] = frozenset()
    started_at: int = 0  # when the interaction began: prompt=login needs a login after it


@dataclass(frozen=True)
class SessionFacts:
    authenticated: bool = False
    auth_time: int = 0
    acr: str | None = None
    consented_claims: frozenset[str] = frozenset()
    consented_at: int | None = None  # None: no consent recorded for this relying party
    consented_in_interaction: bool = False  # the person just answered the consent prompt
    now: int = 0


@dataclass(frozen=True)
class Check:
    reason: str
    description: str
    fn: Callable[[Requirements, SessionFacts], bool]  # True: the prompt is needed


@dataclass(frozen=True)
class Prompt:
    name: str
    reasons: tuple[str, ...] = field(default_factory=tuple)


LOGIN_CHECKS: tuple[Check, ...] = (
    Check("no_session", "No one is logged in on this browser.",
          lambda r, s: not s.authenticated),
    Check("login_prompt", "The relying party asked for a fresh login (prompt=login).",
          lambda r, s: "login" in r.prompt and s.auth_time < r.started_at),
    Check("max_age", "The last login is older than the relying party's max_age.",
          lambda r, s: r.max_age is not None and s.now - s.auth_time > r.max_age),
    Check("acr_not_met", "The session's assurance level is below the one requested.",
          lambda r, s: bool(r.acr_values) and satisfying(s.acr, list(r.acr_values)) is None),
)

CONSENT_CHECKS: tuple[Check, ...] = (
    Check("consent_prompt", "The relying party asked to ask again (prompt=consent).",
          lambda r, s: "consent" in r.prompt and not s.consented_in_interaction),
    Check("claims_missing", "The person has not agreed to share these claims yet.",
          lambda r, s: s.consented_at is None or not r.claims <= s.consented_claims),
)


def evaluate(requirements: Requirements, facts: SessionFacts) -> Prompt | None:
    """The first prompt whose checks fail, with every failing reason; None when all pass."""
    for name, checks in (("login", LOGIN_CHECKS), ("consent", CONSENT_CHECKS)):
        reasons = tuple(c.reason for c in checks if c.fn(requirements, facts))
        if reasons:
            return Prompt(name, reasons)
    return None
