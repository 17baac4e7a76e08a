"""Passkeys: registered credentials, the user handle of each private ID, pending challenges.

Revision ID: 0003_passkeys
Revises: 0002_oidc_core
Create Date: 2026-11-21
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_passkeys"
down_revision = "0002_oidc_core"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _private_id_fk(table: str) -> sa.ForeignKey:
    return sa.ForeignKey("private_ids.id", ondelete="CASCADE",
                         name=f"fk_{table}_private_id_private_ids")


def upgrade() -> None:
    op.create_table(
        "passkey_users",
        sa.Column("private_id", sa.String(64), _private_id_fk("passkey_users"), nullable=False),
        sa.Column("user_handle", sa.LargeBinary(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("private_id", name="pk_passkey_users"),
        sa.UniqueConstraint("user_handle", name="uq_passkey_users_user_handle"),
    )
    op.create_table(
        "passkeys",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("private_id", sa.String(64), _private_id_fk("passkeys"), nullable=False),
        sa.Column("credential_id", sa.LargeBinary(1023), nullable=False),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.Column("sign_count", sa.BigInteger, nullable=False),
        sa.Column("transports", sa.JSON, nullable=False),
        sa.Column("aaguid", sa.String(36), nullable=False),
        sa.Column("backup_eligible", sa.Boolean, nullable=False),
        sa.Column("backup_state", sa.Boolean, nullable=False),
        sa.Column("device_type", sa.String(16), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("user_handle", sa.LargeBinary(64), nullable=False),
        sa.Column("anchor_issuer", sa.String(500), nullable=False),
        sa.Column("anchor_serial", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("last_used_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_passkeys"),
    )
    op.create_index("ix_passkeys_credential_id", "passkeys", ["credential_id"], unique=True)
    op.create_index("ix_passkeys_private_id", "passkeys", ["private_id"])
    op.create_table(
        "passkey_challenges",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("ceremony", sa.String(16), nullable=False),
        sa.Column("challenge", sa.LargeBinary(64), nullable=False),
        sa.Column("private_id", sa.String(64), nullable=True),
        sa.Column("anchor_issuer", sa.String(500), nullable=True),
        sa.Column("anchor_serial", sa.String(64), nullable=True),
        sa.Column("expires_at", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_passkey_challenges"),
    )
    op.create_index("ix_passkey_challenges_expires_at", "passkey_challenges", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_passkey_challenges_expires_at", table_name="passkey_challenges")
    op.drop_table("passkey_challenges")
    op.drop_index("ix_passkeys_private_id", table_name="passkeys")
    op.drop_index("ix_passkeys_credential_id", table_name="passkeys")
    op.drop_table("passkeys")
    op.drop_table("passkey_users")
