"""Re-issue and 4-info refresh card requests remember the login session that asked for them.

Revision ID: 0009_card_request_session
Revises: 0008_failed_attempts
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_card_request_session"
down_revision = "0008_failed_attempts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("card_requests") as batch:
        batch.add_column(sa.Column("session_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("card_requests") as batch:
        batch.drop_column("session_id")
