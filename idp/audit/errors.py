"""The refusals of the audit log: a broken chain, a checkpoint that does not hold."""

from __future__ import annotations

from idp.errors import IdpError


class AuditError(IdpError):
    """The audit log cannot be trusted as it stands."""

    code = "audit_failed"
    status = 500


class BrokenChainError(AuditError):
    """An entry does not follow the one before it: edited, removed or reordered."""

    def __init__(self, seq: int, problem: str) -> None:
        self.seq = seq
        self.problem = problem
        super().__init__(f"entry {seq}: {problem}")


class BadCheckpointError(AuditError):
    """The checkpoint is not one this IdP signed, or the log does not extend it."""
