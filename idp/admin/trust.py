"""The trust policy from the console and the API: the service is ``idp.trustpolicy`` (validated,
versioned, with history and rollback, effective at every worker's next login); this adds the
administrators' rules on top. Reading needs ``read_trust``; every change needs ``change_trust``,
a reason, and — from a browser session — a fresh passkey confirmation (a policy change, or
retiring a CA generation, is high-risk). Changes are recorded as made by ``admin:<name>``.

A change leaves two audit entries, one for each question: ``admin.trust.<verb>`` (who asked,
why, allowed or refused, and the version made: ``record``) and ``trust.policy.changed`` (what
changed: the service's own entry, written with the version, as for a change at the shell). A
refused change leaves only the first.
"""

from __future__ import annotations

from typing import Any

from idp.admin.errors import AdminError
from idp.admin.identity import Identity
from idp.admin.record import Recorder
from idp.admin.roles import Actor, Permission
from idp.admin.schemas import (
    AnchorAdd,
    AnchorSelector,
    PolicyKeySet,
    PolicyReplace,
    PolicyRollback,
    PolicyVersionOut,
    PolicyVersions,
)
from idp.errors import IdpError
from idp.trustpolicy.document import SETTABLE
from idp.trustpolicy.service import PolicyVersion, TrustPolicyService


def version_out(found: PolicyVersion, *, with_policy: bool = True) -> PolicyVersionOut:
    return PolicyVersionOut.model_validate(found.as_json(with_policy=with_policy))


class TrustAdmin:
    def __init__(self, policy: TrustPolicyService, identity: Identity,
                 record: Recorder) -> None:
        self._policy = policy
        self._record = record
        self._identity = identity

    @property
    def settable(self) -> tuple[str, ...]:
        return SETTABLE

    def current(self, actor: Actor) -> PolicyVersionOut:
        self._record.authorise(actor, Permission.READ_TRUST, "trust.read", None)
        return version_out(self._policy.current())

    def version(self, actor: Actor, number: int) -> PolicyVersionOut:
        self._record.authorise(actor, Permission.READ_TRUST, "trust.read", str(number))
        return version_out(self._change(actor, "trust.read", lambda: self._policy.version(
            number), record=False))

    def versions(self, actor: Actor) -> PolicyVersions:
        self._record.authorise(actor, Permission.READ_TRUST, "trust.history", None)
        return PolicyVersions(versions=[version_out(v, with_policy=False)
                                        for v in self._policy.history()])

    # -- changes (each a new version) ----------------------------------------------------------
    def replace(self, actor: Actor, body: PolicyReplace) -> PolicyVersionOut:
        self._may_change(actor, "trust.policy.replace")
        return version_out(self._change(actor, "trust.policy.replace", lambda: self._policy
                                        .replace(body.policy, actor=_who(actor),
                                                 reason=body.reason,
                                                 expected_version=body.expected_version),
                                        reason=body.reason))

    def set(self, actor: Actor, body: PolicyKeySet) -> PolicyVersionOut:
        self._may_change(actor, "trust.policy.set")
        return version_out(self._change(actor, "trust.policy.set", lambda: self._policy.set(
            body.key, body.value, actor=_who(actor), reason=body.reason,
            expected_version=body.expected_version), reason=body.reason, target=body.key))

    def rollback(self, actor: Actor, body: PolicyRollback) -> PolicyVersionOut:
        self._may_change(actor, "trust.policy.rollback")
        return version_out(self._change(actor, "trust.policy.rollback", lambda: self._policy
                                        .rollback(body.version, actor=_who(actor),
                                                  reason=body.reason),
                                        reason=body.reason, target=str(body.version)))

    def set_enabled(self, actor: Actor, body: AnchorSelector, *,
                    enabled: bool) -> PolicyVersionOut:
        """Retire (high-risk) or enable again a CA generation."""
        action = "trust.anchor.enable" if enabled else "trust.anchor.retire"
        self._may_change(actor, action)
        call = self._policy.enable if enabled else self._policy.retire
        return version_out(self._change(actor, action, lambda: call(
            actor=_who(actor), reason=body.reason, fingerprint=body.fingerprint,
            purpose=body.purpose, medium=body.medium, generation=body.generation),
            reason=body.reason, target=body.fingerprint or
            f"{body.purpose}/{body.medium}/{body.generation}"))

    def add_anchor(self, actor: Actor, body: AnchorAdd) -> PolicyVersionOut:
        """Trust a CA certificate (PEM) for a purpose (refused unless it is a CA)."""
        self._may_change(actor, "trust.anchor.add")
        return version_out(self._change(actor, "trust.anchor.add", lambda: self._policy
                                        .add_anchor(body.pem.encode(), purpose=body.purpose,
                                                    actor=_who(actor), reason=body.reason,
                                                    medium=body.medium,
                                                    generation=body.generation,
                                                    source="admin upload"),
                                        reason=body.reason, target=body.purpose))

    def _may_change(self, actor: Actor, action: str) -> None:
        self._record.authorise(actor, Permission.CHANGE_TRUST, action, None)
        self._identity.require_confirmed(actor, action, None)

    def _change(self, actor: Actor, action: str, run: Any, *, reason: str | None = None,
                target: str | None = None, record: bool = True) -> PolicyVersion:
        try:
            found: PolicyVersion = run()
        except AdminError:
            raise
        except IdpError as error:  # the policy service's refusal: 400 or 409, nothing changed
            if record:
                self._record(actor, action, target, reason, "refused",
                                    {"why": error.description})
            raise
        if record:
            self._record(actor, action, target, reason, "done",
                                {"version": found.version})
        return found


def _who(actor: Actor) -> str:
    return f"admin:{actor.name}"


