"""Back-channel logout outbox: one row per logout token to deliver, retried with backoff.

Revision ID: 0006_logout_outbox
Revises: 0005_interaction_browser
Create Date: 2026-11-21
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_logout_outbox"
down_revision = "0005_interaction_browser"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oidc_logout_outbox",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("client_id", sa.String(64), sa.ForeignKey("oidc_clients.client_id"),
                  nullable=False),
        sa.Column("uri", sa.String(500), nullable=False),
        sa.Column("sub", sa.String(255), nullable=False),
        sa.Column("sid", sa.String(255), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("created_at", sa.Integer, nullable=False),
        sa.Column("finished_at", sa.Integer, nullable=True),
    )
    op.create_index("ix_oidc_logout_outbox_due", "oidc_logout_outbox",
                    ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_oidc_logout_outbox_due", "oidc_logout_outbox")
    op.drop_table("oidc_logout_outbox")
