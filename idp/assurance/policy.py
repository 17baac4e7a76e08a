"""The login policy as tables of named checks, after node-oidc-provider's interaction policy.

Given what a relying party asked for (``Requirements``) and what the browser's session has
(``SessionFacts``), :func:`evaluate` answers which prompt the person must go through next
(``login`` or ``consent``) and why, ``unmet`` when an essential acr cannot be had even after a
login in this interaction, or ``None`` when a code can be issued now. Each :class:`Check` is one
rule of OpenID Connect Core §3.1.2.1 (prompt, max_age, acr) or of our consent model; reasons
are stable strings shown in the interaction JSON.

A login made during the interaction satisfies ``prompt=login`` and ``max_age`` (even
``max_age=0``): otherwise the person would be asked to log in again and again. It is told by
identity, not by time (``SessionFacts.logged_in_here``: the session is the one the interaction's
own login made): ``auth_time`` counts whole seconds, and a login in the same second just before
the request must not pass for one made after it. Requested ``acr_values`` are voluntary
unless the ``claims`` parameter marks ``acr`` essential (§5.5.1.1): a voluntary level the
session does not reach is not a reason to stop; the code carries the session's own ``acr`` and
the relying party decides.

**Step-up.** When the session is below a requested acr (voluntary or essential) only by what
one more authentication in this interaction can bring — the card (``step_up_card``), a
phishing-resistant passkey (``step_up_passkey``), or an anchor status asked of OCSP during the
login (``step_up_checked_now``: every login re-checks the anchor) — the login prompt names
exactly that step, and the login methods offer only the actions that can satisfy it
(idp/web/card.py, idp/web/passkeys.py). A voluntary request asks for a step only then (an
identity that needs a re-issue is not a login step), never with ``prompt=none``, and once: after
the step the code carries what the session has. Which requested value is aimed at: the one the
session lacks the fewest steps for, the relying party's first preference among equals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from idp.assurance.levels import lookup, missing, satisfying


@dataclass(frozen=True)
class Requirements:
    prompt: frozenset[str] = frozenset()
    max_age: int | None = None
    acr_values: tuple[str, ...] = ()
    acr_essential: bool = False
    claims: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SessionFacts:
    authenticated: bool = False
    auth_time: int = 0
    logged_in_here: bool = False  # the session is the login made during this interaction
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
          lambda r, s: "login" in r.prompt and not s.logged_in_here),
    Check("max_age", "The last login is older than the relying party's max_age (0: a login "
          "during this request, as prompt=login).",
          lambda r, s: r.max_age is not None and _older_than(r.max_age, s)
          and not s.logged_in_here),
    Check("acr_not_met", "The session's assurance level is below the essential one requested; "
          "a fresh login checks the anchor again.",
          lambda r, s: _essential_acr_unmet(r, s) and not s.logged_in_here),
    Check("step_up_card", "The level requested needs the My Number Card with its PIN.",
          lambda r, s: "card" in _step(r, s)),
    Check("step_up_passkey", "The level requested needs a phishing-resistant passkey.",
          lambda r, s: "phr" in _step(r, s)),
    Check("step_up_checked_now", "The level requested needs the card's status checked by OCSP "
          "during a login.",
          lambda r, s: "checked_now" in _step(r, s)),
)
STEP_UP_REASONS = frozenset({"step_up_card", "step_up_passkey", "step_up_checked_now"})
STEPPABLE = frozenset({"card", "phr", "checked_now"})  # what one login here can bring

UNMET = Prompt("unmet", ("acr_not_met",))  # essential acr still below after a login here


def _older_than(max_age: int, s: SessionFacts) -> bool:
    """OIDC Core §3.1.2.1: ``max_age=0`` is equivalent to ``prompt=login`` — in whole seconds a
    login earlier in the same second would look 0 seconds old."""
    return max_age == 0 or s.now - s.auth_time > max_age


def _step(r: Requirements, s: SessionFacts) -> frozenset[str]:
    """What the session lacks for the requested acr it is closest to, when a login in this
    interaction is still to come and (for a voluntary request) that login can bring it all."""
    if not (s.authenticated and r.acr_values) or s.logged_in_here:
        return frozenset()
    met = lookup(satisfying(s.acr, list(r.acr_values)) or "")
    if met is not None:  # a login again (max_age, prompt=login) must keep what was asked
        again = "login" in r.prompt or (r.max_age is not None and _older_than(r.max_age, s))
        return (met.features | ({"checked_now"} if met.checked_now else set())) & STEPPABLE \
            if again else frozenset()
    lacks = [missing(s.acr, level) for v in r.acr_values if (level := lookup(v)) is not None]
    if not lacks:
        return frozenset()
    fewest = min(lacks, key=len)
    if not r.acr_essential and ("none" in r.prompt or not fewest <= STEPPABLE):
        return frozenset()
    return fewest & STEPPABLE


def _essential_acr_unmet(r: Requirements, s: SessionFacts) -> bool:
    return r.acr_essential and bool(r.acr_values) and \
        satisfying(s.acr, list(r.acr_values)) is None

CONSENT_CHECKS: tuple[Check, ...] = (
    Check("consent_prompt", "The relying party asked to ask again (prompt=consent).",
          lambda r, s: "consent" in r.prompt and not s.consented_in_interaction),
    Check("claims_missing", "The person has not agreed to share these claims yet.",
          lambda r, s: s.consented_at is None or not r.claims <= s.consented_claims),
)


def evaluate(requirements: Requirements, facts: SessionFacts) -> Prompt | None:
    """The first prompt whose checks fail, with every failing reason; ``UNMET`` when a login
    in this interaction left an essential acr unmet; None when all pass."""
    login = tuple(c.reason for c in LOGIN_CHECKS if c.fn(requirements, facts))
    if login:
        return Prompt("login", login)
    if facts.authenticated and _essential_acr_unmet(requirements, facts):
        return UNMET
    consent = tuple(c.reason for c in CONSENT_CHECKS if c.fn(requirements, facts))
    return Prompt("consent", consent) if consent else None
