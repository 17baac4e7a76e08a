"""Interactions record the login session their own login made (prompt=login, max_age).

Revision ID: 0010_interaction_login_session
Revises: 0009_card_request_session
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_interaction_login_session"
down_revision = "0009_card_request_session"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oidc_interactions") as batch:
        batch.add_column(sa.Column("login_session_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oidc_interactions") as batch:
        batch.drop_column("login_session_id")
