"""What a change means to one relying party: CAEP 1.0 and RISC 1.0 events, as a table of rules.

Each :class:`EventRule` turns a :class:`~idp.accounts.changes.Change` into the body of one event
type, or None when the change says nothing of that kind; every event goes in a Security Event
Token of its own (SSF §4.1: one event per SET), the SETs of one change sharing a ``txn``.
``approved``: the claims the person consented to give that relying party; a changed claim it
was not given is never named, let alone its value (SSF §12.2–12.3, previously consented data).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from idp.accounts.changes import Change, Credential

CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
RISC = "https://schemas.openid.net/secevent/risc/event-type/"
SSF = "https://schemas.openid.net/secevent/ssf/event-type/"
CREDENTIAL_CHANGE = CAEP + "credential-change"
ASSURANCE_LEVEL_CHANGE = CAEP + "assurance-level-change"
TOKEN_CLAIMS_CHANGE = CAEP + "token-claims-change"
SESSION_REVOKED = CAEP + "session-revoked"
ACCOUNT_DISABLED = RISC + "account-disabled"
ACCOUNT_ENABLED = RISC + "account-enabled"
ACCOUNT_PURGED = RISC + "account-purged"
VERIFICATION = SSF + "verification"  # SSF §8.1.4: about the stream, always sent
STREAM_UPDATED = SSF + "stream-updated"  # SSF §8.1.5
SUPPORTED = (CREDENTIAL_CHANGE, ASSURANCE_LEVEL_CHANGE, TOKEN_CLAIMS_CHANGE, SESSION_REVOKED,
             ACCOUNT_DISABLED, ACCOUNT_ENABLED, ACCOUNT_PURGED)
IAL_NAMESPACE = "NIST-IAL"  # CAEP §3.4: levels of NIST SP 800-63A, e.g. "nist-ial2"
_DISABLED = frozenset({"suspended", "closed", "locked"})  # locked: by an administrator

Body = dict[str, Any]


@dataclass(frozen=True)
class EventRule:
    event_type: str
    description: str
    build: Callable[[Change, frozenset[str]], Body | None]


def _caep(change: Change, body: Body) -> Body:
    """CAEP §2's optional claims every CAEP event here carries."""
    found = {**body, "event_timestamp": change.at, "initiating_entity": change.initiating_entity}
    if change.reason:
        found["reason_admin"] = {"en": change.reason}
    return found


def _credential(change: Change, credential: Credential | None, change_type: str) -> Body | None:
    if credential is None:
        return None
    return _caep(change, {"credential_type": "x509", "change_type": change_type,
                          "x509_issuer": credential.issuer, "x509_serial": credential.serial})


def _level(change: Change, approved: frozenset[str]) -> Body | None:
    if change.ial is None:
        return None
    previous, current = change.ial
    return _caep(change, {
        "namespace": IAL_NAMESPACE, "current_level": f"nist-ial{current}",
        "previous_level": f"nist-ial{previous}",
        "change_direction": "increase" if current > previous else "decrease"})


# The consent name of a claim given inside verified_claims (idp.oidc.verified_claims.PREFIX, a
# sibling layer): a relying party given the verified address hears that the address changed.
_VERIFIED = "verified_claims."


def _claims(change: Change, approved: frozenset[str]) -> Body | None:
    given = {name: value for name, value in change.claims.items()
             if name in approved or _VERIFIED + name in approved}
    return _caep(change, {"claims": given}) if given else None


def _account(change: Change, disabled: bool) -> Body | None:
    if change.account is None:
        return None
    was, now = (state in _DISABLED for state in change.account)
    return {} if (was, now) == (not disabled, disabled) else None


RULES: tuple[EventRule, ...] = (
    EventRule(CREDENTIAL_CHANGE, "J-LIS revoked the signing certificate anchoring the person",
              lambda c, a: _credential(c, c.revoked, "revoke")),
    EventRule(CREDENTIAL_CHANGE, "The person anchored their account to a new signing "
              "certificate (re-issue, or the refresh of the 4 info)",
              lambda c, a: _credential(c, c.created, "create")),
    EventRule(ASSURANCE_LEVEL_CHANGE, "The identity level the person can reach changed (a "
              "current anchor proves IAL2)", _level),
    EventRule(TOKEN_CLAIMS_CHANGE, "Claims the relying party was given changed (new 4 info)",
              _claims),
    EventRule(SESSION_REVOKED, "An administrator ended the person's sessions",
              lambda c, a: _caep(c, {}) if c.sessions_revoked else None),
    EventRule(ACCOUNT_DISABLED, "The private ID was suspended or closed",
              lambda c, a: _account(c, disabled=True)),
    EventRule(ACCOUNT_ENABLED, "The private ID signs in again",
              lambda c, a: _account(c, disabled=False)),
    EventRule(ACCOUNT_PURGED, "The private ID was deleted",
              lambda c, a: {} if c.purged else None),
)


def events(change: Change, approved: frozenset[str]) -> list[tuple[str, Body]]:
    """The (event type, body) pairs ``change`` makes for a relying party given ``approved``."""
    return [(rule.event_type, body) for rule in RULES
            if (body := rule.build(change, approved)) is not None]


def security_event_token(*, issuer: str, audience: str, jti: str, iat: int, txn: str,
                         subject: Mapping[str, str], event_type: str, body: Body) -> Body:
    """The claims of a SET (RFC 8417 §2.2, SSF §4.1): no ``sub``, no ``exp``; the subject is
    the top-level ``sub_id`` (RFC 9493)."""
    return {"iss": issuer, "jti": jti, "iat": iat, "aud": audience, "txn": txn,
            "sub_id": dict(subject), "events": {event_type: body}}


def person(issuer: str, sub: str) -> dict[str, str]:
    """The ``iss_sub`` subject: the ``sub`` this relying party knows (pairwise by default)."""
    return {"format": "iss_sub", "iss": issuer, "sub": sub}


def stream(stream_id: str) -> dict[str, str]:
    """The subject of events about a stream itself (SSF §8.1.4.1)."""
    return {"format": "opaque", "id": stream_id}
