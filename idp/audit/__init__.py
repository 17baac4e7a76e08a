"""The tamper-evident audit log: who did what to whom, with what outcome, hash-chained.

Every entry is appended through :meth:`idp.audit.log.AuditLog.record` (built once in
``idp.bootstrap.Services``) and carries ``prev_hash``, the hash of the entry before it, and
``hash``, SHA-256 over the canonical JSON of the entry itself (``idp.audit.entries``). Signed
checkpoints (``idp.audit.checkpoints``) let anyone holding one prove later entries extend it.
Design and costs: docs/adr/0003-audit-log.md.
"""
