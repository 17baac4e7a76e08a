"""`idp recheck` in the audit log: each anchor whose state the batch changed, and the run."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from idp.accounts.anchor_check import AnchorChecker
from idp.accounts.recheck import Recheck
from idp.audit.log import AuditLog
from idp.jpki.profile import Purpose
from tests.unit.accounts.test_recheck import MOVED, Lists, World, _person, issuer
from tests.unit.audit.support import ORIGIN

__all__ = ["issuer"]  # the fixture


def test_a_recheck_run_records_each_change_and_its_totals(
        sessions: sessionmaker[Session], issuer: Any) -> None:
    world = World()
    unchanged, moved = _person(sessions, issuer, 0x100), _person(sessions, issuer, 0x200)
    world.revoked[(Purpose.SIGN, 0x200)] = MOVED
    log = AuditLog(sessions, origin=ORIGIN)
    Recheck(sessions, Lists(world), AnchorChecker(sessions, world), audit=log).run()
    [changed] = log.entries(action="anchor.changed")
    assert (changed.actor, changed.target, changed.outcome) == (
        "system", f"person:{moved}", "needs_reissue")
    assert changed.details == {"from": "current", "reason": "sign_revoked:affiliation_changed"}
    [run] = log.entries(action="recheck.run")
    assert run.details == {"checked": 2, "states": {"current": 1, "needs_reissue": 1},
                           "changed": 1, "due_only": False}
    assert unchanged not in str([e.to_json() for e in log.entries()])
