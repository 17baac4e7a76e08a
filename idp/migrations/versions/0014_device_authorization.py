"""Device authorization grant (RFC 8628): device authorization requests, and the grant types
a client may use (``idp clients add --device``).

Revision ID: 0014_device_authorization
Revises: 0013_shared_signals
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_device_authorization"
down_revision = "0013_shared_signals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oidc_clients") as batch:
        batch.add_column(sa.Column("grant_types", sa.JSON, nullable=True))
    op.create_table(
        "oidc_device_authorizations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("device_code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("client_id", sa.String(64), sa.ForeignKey("oidc_clients.client_id"),
                  nullable=False),
        sa.Column("scope", sa.String(500), nullable=False),
        sa.Column("acr_values", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("grant_id", sa.String(64), sa.ForeignKey("oidc_grants.id"), nullable=True),
        sa.Column("interval", sa.Integer, nullable=False),
        sa.Column("last_polled_at", sa.Integer, nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("created_at", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.Integer, nullable=False),
    )
    op.create_index("ix_oidc_device_authorizations_expires_at", "oidc_device_authorizations",
                    ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_oidc_device_authorizations_expires_at", "oidc_device_authorizations")
    op.drop_table("oidc_device_authorizations")
    with op.batch_alter_table("oidc_clients") as batch:
        batch.drop_column("grant_types")
