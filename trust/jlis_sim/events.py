"""Life events and what JPKI does to the certificates: one table, read by one small engine.

| event | signing | auth | links |
|---|---|---|---|
| move, rename | revoked affiliationChanged, re-issued | unchanged | new sign ← old sign |
| renew | revoked superseded, re-issued | revoked superseded, re-issued | both old → new |
| lose-card | certificateHold | certificateHold | |
| found-card | hold lifted (off the CRL) | hold lifted | |
| card-not-found | cessationOfOperation | cessationOfOperation | |
| new-card | cessationOfOperation, re-issued | cessationOfOperation, re-issued | both old → new |
| emigrate | revoked affiliationChanged | unchanged | |
| die | revoked affiliationChanged | revoked affiliationChanged | |

The issue text fixes affiliationChanged for a 4-info change (the domain primer lists superseded for
"re-issued after a 4-info change"); verifiers tell a move from a death by the auth certificate,
which stays valid on a move. Changing that is one line of ``EVENTS``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.x509 import ReasonFlags
from sqlalchemy.orm import Session

from idp.jpki.profile import Medium, Purpose
from trust.jlis_sim import address, cards, residents
from trust.jlis_sim.errors import EventImpossibleError
from trust.jlis_sim.issuance import Issued, card_expiry, issue, may_hold_sign
from trust.jlis_sim.models import CaRecord, CertificateRecord, Person
from trust.jlis_sim.store import Sim, to_db


class Act(enum.Enum):
    KEEP = "keep"
    REVOKE = "revoke"
    REISSUE = "reissue"  # revoke, then issue a new key pair linked old → new
    HOLD = "hold"
    RELEASE = "release"


@dataclass(frozen=True)
class Rule:
    sign: tuple[Act, ReasonFlags | None]
    auth: tuple[Act, ReasonFlags | None]
    media: frozenset[Medium]
    requires: Callable[[Person], str | None]  # None when allowed, else why not
    new_card: bool = False
    issue_missing: bool = False  # also issue a key pair the medium lacks (turned 15 since)

    def act(self, purpose: Purpose) -> tuple[Act, ReasonFlags | None]:
        return self.sign if purpose is Purpose.SIGN else self.auth


def _resident(p: Person) -> str | None:
    return _alive(p) or ("the resident has emigrated" if p.state == "emigrated" else None)


def _alive(p: Person) -> str | None:
    return "the resident is deceased" if p.state == "dead" else None


def _card_in_hand(p: Person) -> str | None:
    return _alive(p) or (None if p.card_state == "active" else f"the card is {p.card_state}")


def _card_lost(p: Person) -> str | None:
    return _alive(p) or (None if p.card_state == "lost" else "the card is not reported lost")


_ALL, _CARD = frozenset(Medium), frozenset({Medium.CARD})
_AFF, _SUP = ReasonFlags.affiliation_changed, ReasonFlags.superseded
_CESS, _HOLD = ReasonFlags.cessation_of_operation, ReasonFlags.certificate_hold
_KEEP = (Act.KEEP, None)

EVENTS: dict[str, Rule] = {
    "move": Rule((Act.REISSUE, _AFF), _KEEP, _ALL, _resident),
    "rename": Rule((Act.REISSUE, _AFF), _KEEP, _ALL, _resident),
    "renew": Rule((Act.REISSUE, _SUP), (Act.REISSUE, _SUP), _CARD, _card_in_hand,
                  issue_missing=True),
    "lose-card": Rule((Act.HOLD, _HOLD), (Act.HOLD, _HOLD), _CARD, _card_in_hand),
    "found-card": Rule((Act.RELEASE, None), (Act.RELEASE, None), _CARD, _card_lost),
    "card-not-found": Rule((Act.REVOKE, _CESS), (Act.REVOKE, _CESS), _CARD, _card_lost),
    "new-card": Rule((Act.REISSUE, _CESS), (Act.REISSUE, _CESS), _CARD, _alive, new_card=True,
                     issue_missing=True),
    "emigrate": Rule((Act.REVOKE, _AFF), _KEEP, _ALL, _resident),
    "die": Rule((Act.REVOKE, _AFF), (Act.REVOKE, _AFF), _ALL, _alive),
}
_STATE_AFTER = {"emigrate": ("state", "emigrated"), "die": ("state", "dead"),
                "lose-card": ("card_state", "lost"), "found-card": ("card_state", "active"),
                "card-not-found": ("card_state", "stopped"), "new-card": ("card_state", "active")}


def apply(sim: Sim, person_id: str, event: str, **changes: str) -> dict[str, Any]:
    """Apply ``event`` (a key of ``EVENTS``) with its ``changes`` (address=/name=)."""
    rule = EVENTS[event]
    with sim.transaction() as session:
        person = residents.get(session, person_id)
        if (why := rule.requires(person)) is not None:
            raise EventImpossibleError(f"cannot {event} {person_id}: {why}")
        _change(person, changes)
        for medium in sorted(rule.media & set(residents.media_of(person))):
            _apply_to_medium(sim, session, person, medium, rule)
        if event in _STATE_AFTER:
            setattr(person, *_STATE_AFTER[event])
        return residents.outcome(session, person)


def _change(person: Person, changes: dict[str, str]) -> None:
    if "address" in changes:
        person.prefecture, person.city = address.split(changes["address"])
        person.address = address.normalise(changes["address"])
    if "name" in changes:
        person.name = residents.normalise_name(changes["name"])


def _apply_to_medium(sim: Sim, session: Session, person: Person, medium: Medium,
                     rule: Rule) -> None:
    for purpose in Purpose:
        record = residents.current(session, person, purpose, medium)
        act, reason = rule.act(purpose)
        if record is not None and act is not Act.KEEP:
            _set_status(session, record, act, reason, sim)
    # The 新旧 link runs from the last certificate of the old key, even one already revoked
    # (a lost card finally stopped before the new card was applied for).
    old = {p: residents.latest(session, person, p, medium) for p in Purpose}
    if rule.new_card:
        person.card_no += 1
        person.card_expires = card_expiry(person.birth_date, sim.now().date())
    issued = _reissue(sim, session, person, medium, rule, old)
    if issued:
        path = residents.card_path(person, medium)
        pins = _pins_of(path) if rule.new_card else {}
        cards.write(path, person.person_id, medium, issued, pins, fresh=rule.new_card)


def _reissue(sim: Sim, session: Session, person: Person, medium: Medium, rule: Rule,
             old: dict[Purpose, CertificateRecord | None]) -> dict[Purpose, Issued]:
    issued: dict[Purpose, Issued] = {}
    card_no = person.card_no if medium is Medium.CARD else 1
    for purpose in Purpose:
        if rule.act(purpose)[0] is not Act.REISSUE:
            continue
        # A 4-info change re-issues only what existed; renewal and a new card also give a
        # signing certificate to whoever has turned 15 since.
        if old[purpose] is None and not rule.issue_missing:
            continue
        if purpose is Purpose.SIGN and not may_hold_sign(person, sim.now().date()):
            continue
        issued[purpose] = issue(sim, session, person, purpose, medium, card_no=card_no,
                                previous=old[purpose])
    return issued


def _set_status(session: Session, record: CertificateRecord, act: Act,
                reason: ReasonFlags | None, sim: Sim) -> None:
    if act is Act.RELEASE:
        if record.status == "hold":
            record.status, record.revoked_at, record.revocation_reason = "valid", None, None
    else:
        # RFC 5280 §5.3.2: a held certificate finally revoked keeps the date the hold began.
        if not (record.status == "hold" and record.revoked_at is not None):
            record.revoked_at = to_db(sim.now())
        record.status = "hold" if act is Act.HOLD else "revoked"
        record.revocation_reason = reason.value if reason else None
    ca = session.get(CaRecord, record.ca_id)
    if ca is not None:
        ca.crl_der = None  # the next CRL download rebuilds it


def _pins_of(path: Path) -> dict[Purpose, str | None]:
    card = cards.read(path)
    return {Purpose.SIGN: card.sign.pin if card and card.sign else None,
            Purpose.AUTH: card.auth.pin if card and card.auth else None}
