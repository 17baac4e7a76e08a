"""The device code's polls at the token endpoint (RFC 8628 §3.4, §3.5) as one SQL statement.

Every poll is one conditional UPDATE ... RETURNING on the device authorization, written first as
every token endpoint transaction is (``idp.oidc.token_sql``): it records the poll, raises the
interval by 5 seconds at ``slow_down``, and turns an approved authorization into a redeemed one,
all from the row as it was before this poll (SQL evaluates every SET expression over the old
row). The outcome is a table of named checks, read in order: the first that holds is the
answer, none holding means the tokens are issued. Of two concurrent polls of an approved device
code exactly one sees ``approved``: the other waits for its row lock and then sees ``redeemed``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Integer, String, and_, bindparam, case, literal, select

from idp.db import Base
from idp.oidc.models import DeviceAuthorization
from idp.oidc.token_sql import GRANTS, grant_of
from idp.prepared import Prepared

DEVICES = Base.metadata.tables[DeviceAuthorization.__tablename__]
PEOPLE = Base.metadata.tables["private_ids"]
SLOW_DOWN_STEP = 5  # seconds added to the interval at each slow_down (RFC 8628 §3.5)
_NOW = bindparam("b_now", type_=Integer)


@dataclass(frozen=True)
class PollCheck:
    """One reason a poll gets no tokens: ``outcome`` names it (``idp.oidc.device`` maps it to
    the error answered), ``holds`` is its condition over the row before the poll."""

    outcome: str
    description: str
    holds: Callable[[], ColumnElement[bool]]


def _person_gone() -> ColumnElement[bool]:
    """The grant was revoked since the approval, or its private ID no longer signs in
    (suspended or closed by a re-check): checked at redemption, not only at approval."""
    live = select(GRANTS.c.id).join_from(GRANTS, PEOPLE, PEOPLE.c.id == GRANTS.c.private_id).where(
        GRANTS.c.id == DEVICES.c.grant_id, GRANTS.c.revoked.is_(False),
        PEOPLE.c.state == "active").exists()
    return ~live


# In order: the first that holds is the answer.
POLL_CHECKS: tuple[PollCheck, ...] = (
    PollCheck("used", "the device code was already used; its tokens are now revoked",
              lambda: DEVICES.c.status == "redeemed"),
    PollCheck("expired", "the device code has expired: start again on the device",
              lambda: DEVICES.c.expires_at < _NOW),
    PollCheck("denied", "the person declined the sign-in on this device",
              lambda: DEVICES.c.status == "denied"),
    PollCheck("slow_down", "polling too fast: wait the interval between requests",
              lambda: and_(DEVICES.c.status == "pending", DEVICES.c.last_polled_at.is_not(None),
                           _NOW - DEVICES.c.last_polled_at < DEVICES.c.interval)),
    PollCheck("pending", "the person has not approved the sign-in yet",
              lambda: DEVICES.c.status == "pending"),
    PollCheck("inactive", "this private ID can no longer sign in",
              lambda: and_(DEVICES.c.status == "approved", _person_gone())),
)
DESCRIPTIONS = {check.outcome: check.description for check in POLL_CHECKS}


def _outcome() -> ColumnElement[str | None]:
    """The first check that holds, or NULL: the tokens are issued."""
    return case(*((check.holds(), literal(check.outcome, String)) for check in POLL_CHECKS))


# RETURNING the outcome, the interval from now on, the grant id, then the grant's columns.
POLL = Prepared(DEVICES.update().where(
    DEVICES.c.device_code_hash == bindparam("b_code"),
    DEVICES.c.client_id == bindparam("b_client")).values(
    outcome=_outcome(),
    interval=case((_outcome() == "slow_down", DEVICES.c.interval + SLOW_DOWN_STEP),
                  else_=DEVICES.c.interval),
    status=case((_outcome().is_(None), literal("redeemed", String)), else_=DEVICES.c.status),
    last_polled_at=_NOW).returning(
    DEVICES.c.outcome, DEVICES.c.interval, DEVICES.c.grant_id, *grant_of(DEVICES.c.grant_id)))

REVOKE_GRANT = Prepared(GRANTS.update().where(GRANTS.c.id == bindparam("b_grant")).values(
    revoked=True))
