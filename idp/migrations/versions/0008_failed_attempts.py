"""Counts of failed attempts per scope, subject and fixed window (idp.throttle).

Revision ID: 0008_failed_attempts
Revises: 0007_terms_consent
Create Date: 2026-11-21
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_failed_attempts"
down_revision = "0007_terms_consent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "failed_attempts",
        sa.Column("scope", sa.String(32), primary_key=True),
        sa.Column("subject", sa.String(255), primary_key=True),
        sa.Column("window_start", sa.Integer, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("failed_attempts")
