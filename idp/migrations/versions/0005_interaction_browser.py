"""Interactions are bound to the browser that started them (hash of its ``idp_browser`` cookie).

Revision ID: 0005_interaction_browser
Revises: 0004_jpki_anchors
Create Date: 2026-11-21
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_interaction_browser"
down_revision = "0004_jpki_anchors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oidc_interactions") as batch:
        batch.add_column(sa.Column("browser_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oidc_interactions") as batch:
        batch.drop_column("browser_hash")
