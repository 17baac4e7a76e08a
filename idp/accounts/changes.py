"""What changed about a person, in the terms relying parties hear it (change detection).

The anchor re-check (at a login and in ``idp recheck``), the re-issue and the 4-info refresh
describe what they changed as a :class:`Change` and hand it, in their own transaction, to a
:class:`ChangeSink`: ``idp.events`` implements it (Shared Signals: CAEP and RISC events to the
relying parties the person consented to), ``idp.bootstrap`` wires it. Accounts never import
events. Administrators' actions describe theirs with :func:`admin_action`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from sqlalchemy.orm import Session

from idp.accounts.anchor_policy import AnchorState, Decision
from idp.accounts.claims import basic4_claims
from idp.assurance.evidence import Proofing, ial_for

Initiator = Literal["admin", "user", "policy", "system"]  # CAEP §2 initiating_entity
_REVOCATIONS = ("sign_revoked:", "card_revoked:")  # anchor_policy reasons of a revocation


@dataclass(frozen=True, slots=True)
class Credential:
    """A JPKI signing certificate as relying parties may name it."""

    issuer: str  # the issuer DN (RFC 4514)
    serial: str  # lower-case hex, as J-LIS names it


@dataclass(frozen=True)
class Change:
    """One cause's effects on one private ID; fields left empty did not change."""

    private_id: str
    at: int  # epoch seconds
    initiating_entity: Initiator = "system"
    revoked: Credential | None = None  # the anchor was found revoked
    created: Credential | None = None  # a new anchor (re-issue, refresh with a new certificate)
    ial: tuple[int, int] | None = None  # (previous, current) identity assurance level
    claims: Mapping[str, Any] = field(default_factory=dict)  # changed claims, new values
    account: tuple[str, str] | None = None  # (previous, current) private ID state
    sessions_revoked: bool = False
    purged: bool = False
    reason: str | None = None  # for the relying party's administrators (English)


class ChangeSink(Protocol):
    def record(self, db: Session, changes: Sequence[Change]) -> None:
        """Owe the relying parties what ``changes`` mean, written in ``db``'s transaction."""
        ...


def anchor_ial(state: str | None) -> int:
    """The identity assurance level an anchor in ``state`` lets the person reach."""
    return ial_for(Proofing.CURRENT if state == AnchorState.CURRENT else Proofing.NOT_CURRENT)


def checked(private_id: str, *, anchor: Credential, before: str, before_reason: str | None,
            decision: Decision, person: tuple[str, str], at: int) -> Change | None:
    """What a re-check that decided ``decision`` (the anchor was ``before``, for
    ``before_reason``) changed; None when nothing did. ``person``: the private ID's state
    before and after."""
    if decision.state == before and person[0] == person[1]:
        return None
    newly_revoked = decision.reason.startswith(_REVOCATIONS) and not (
        before_reason or "").startswith(_REVOCATIONS)
    return Change(private_id, at, "policy", revoked=anchor if newly_revoked else None,
                  ial=_moved(anchor_ial(before), anchor_ial(decision.state)),
                  account=person if person[0] != person[1] else None,
                  reason=f"anchor re-check: {decision.reason}")


def reanchored(private_id: str, *, before: str | None, after: str | None,
               created: Credential | None, basic4_before: Mapping[str, Any] | None,
               basic4_after: Mapping[str, Any], at: int) -> Change | None:
    """What a re-issue or a 4-info refresh by the person changed: a new anchor (``created``;
    None when the certificate stayed), the level (the live anchor's state ``before`` and
    ``after``), and the claims the new 4 info change."""
    old = basic4_claims(basic4_before) if basic4_before else {}
    new = basic4_claims(basic4_after)
    claims = {name: value for name, value in new.items() if old.get(name) != value}
    ial = _moved(anchor_ial(before), anchor_ial(after))
    if created is None and ial is None and not claims:
        return None
    return Change(private_id, at, "user", created=created, ial=ial, claims=claims,
                  reason="re-issued" if created else "4 info refreshed")


def admin_action(private_id: str, at: int, *,
                 action: Literal["disabled", "enabled", "purged", "sessions_revoked"],
                 reason: str, previous_state: str | None = None) -> Change:
    """What an administrator did to a private ID, for the admin work to record with the
    action's own transaction: ``services.changes.record(db, [admin_action(...)])``. Record a
    purge before deleting the private ID's rows: its consents say who is told."""
    if action == "purged":
        return Change(private_id, at, "admin", purged=True, reason=reason)
    if action == "sessions_revoked":
        return Change(private_id, at, "admin", sessions_revoked=True, reason=reason)
    before, after = ("active", "suspended") if action == "disabled" else ("suspended", "active")
    return Change(private_id, at, "admin", account=(previous_state or before, after),
                  reason=reason)


def _moved(before: int, after: int) -> tuple[int, int] | None:
    return (before, after) if before != after else None
