"""Administrators (idp.admin): their passkeys, enrolments, sessions and API tokens; account
locks; and the relying-party columns the admin console edits (allowed scopes, claims and levels,
disabling).

Revision ID: 0015_administrators
Revises: 0013_shared_signals
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_administrators"
down_revision = "0014_device_authorization"
branch_labels = None
depends_on = None

_ADMIN = "admin_users.id"


def upgrade() -> None:
    op.create_table(
        "admin_users",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("user_handle", sa.LargeBinary(64), nullable=False),
        sa.Column("created_at", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "admin_credentials",
        sa.Column("credential_id", sa.LargeBinary(1023), primary_key=True),
        sa.Column("admin_id", sa.String(32), sa.ForeignKey(_ADMIN, ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.Column("sign_count", sa.BigInteger, nullable=False),
        sa.Column("backup_eligible", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Integer, nullable=False),
        sa.Column("last_used_at", sa.Integer, nullable=True),
    )
    op.create_table(
        "admin_enrolments",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("admin_id", sa.String(32), sa.ForeignKey(_ADMIN, ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("expires_at", sa.Integer, nullable=False),
        sa.Column("used_at", sa.Integer, nullable=True),
    )
    op.create_table(
        "admin_challenges",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("ceremony", sa.String(16), nullable=False),
        sa.Column("challenge", sa.LargeBinary(64), nullable=False),
        sa.Column("admin_id", sa.String(32), nullable=True),
        sa.Column("expires_at", sa.Integer, nullable=False),
    )
    op.create_table(
        "admin_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("admin_id", sa.String(32), sa.ForeignKey(_ADMIN, ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("created_at", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.Integer, nullable=False),
        sa.Column("confirmed_at", sa.Integer, nullable=True),
        sa.Column("ended_at", sa.Integer, nullable=True),
    )
    op.create_table(
        "admin_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("admin_id", sa.String(32), sa.ForeignKey(_ADMIN, ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("issued_at", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.Integer, nullable=False),
    )
    op.create_table(
        "account_locks",
        sa.Column("private_id", sa.String(64), sa.ForeignKey("private_ids.id",
                                                             ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("locked_by", sa.String(100), nullable=False),
        sa.Column("locked_at", sa.Integer, nullable=False),
    )
    with op.batch_alter_table("oidc_clients") as batch:
        batch.add_column(sa.Column("allowed_scopes", sa.JSON, nullable=True))
        batch.add_column(sa.Column("allowed_claims", sa.JSON, nullable=True))
        batch.add_column(sa.Column("allowed_acrs", sa.JSON, nullable=True))
        batch.add_column(sa.Column("disabled_at", sa.Integer, nullable=True))
        batch.add_column(sa.Column("disabled_reason", sa.String(500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oidc_clients") as batch:
        for name in ("disabled_reason", "disabled_at", "allowed_acrs", "allowed_claims",
                     "allowed_scopes"):
            batch.drop_column(name)
    for table in ("account_locks", "admin_tokens", "admin_sessions", "admin_challenges",
                  "admin_enrolments", "admin_credentials", "admin_users"):
        op.drop_table(table)
