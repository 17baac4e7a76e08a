"""Retention of the audit log: signed prune records, and old entries deletable behind one.

``audit_prunes`` holds one row per ``idp audit prune``: the seq and hash of the last entry
deleted and the signed checkpoint of it (idp.audit.retention). The append-only triggers of
``audit_log`` now let a DELETE through for entries at or below the latest prune record only;
every UPDATE, and every DELETE above it, is refused as before. The prune records are
append-only themselves.

Revision ID: 0020_audit_retention
Revises: 0018_metering
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_audit_retention"
down_revision = "0018_metering"
branch_labels = None
depends_on = None

_MESSAGE = "audit_log is append-only (entries are deleted only behind a prune record)"
_FLOOR = "COALESCE((SELECT max(seq) FROM audit_prunes), 0)"


def upgrade() -> None:
    op.create_table(
        "audit_prunes",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("before", sa.String(32), nullable=False),
        sa.Column("time", sa.String(32), nullable=False),
        sa.Column("jws", sa.Text, nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER audit_log_no_delete")
        op.execute(f"CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
                   f"WHEN OLD.seq > {_FLOOR} BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END")
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_prunes_no_{verb.lower()} BEFORE {verb} ON "
                       f"audit_prunes BEGIN SELECT RAISE(ABORT, 'audit_prunes is append-only'); "
                       f"END")
        return
    op.execute("CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger "
               "LANGUAGE plpgsql AS $$ BEGIN "
               f"IF TG_OP = 'DELETE' AND OLD.seq <= {_FLOOR} THEN RETURN OLD; END IF; "
               f"RAISE EXCEPTION '{_MESSAGE}'; END $$")
    op.execute("CREATE FUNCTION audit_prunes_append_only() RETURNS trigger LANGUAGE plpgsql AS "
               "$$ BEGIN RAISE EXCEPTION 'audit_prunes is append-only'; END $$")
    op.execute("CREATE TRIGGER audit_prunes_append_only BEFORE UPDATE OR DELETE ON audit_prunes "
               "FOR EACH ROW EXECUTE FUNCTION audit_prunes_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER audit_log_no_delete")
        op.execute("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
                   "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")
    else:
        op.execute("DROP TRIGGER audit_prunes_append_only ON audit_prunes")
        op.execute("DROP FUNCTION audit_prunes_append_only()")
        op.execute("CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger "
                   "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; "
                   "END $$")
    op.drop_table("audit_prunes")
