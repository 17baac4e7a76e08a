"""Onboarding card requests carry the terms agreement (version, time) given in the browser.

Revision ID: 0007_terms_consent
Revises: 0006_logout_outbox
Create Date: 2026-11-21
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_terms_consent"
down_revision = "0006_logout_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("card_requests") as batch:
        batch.add_column(sa.Column("terms_version", sa.String(32), nullable=True))
        batch.add_column(sa.Column("terms_agreed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("card_requests") as batch:
        batch.drop_column("terms_agreed_at")
        batch.drop_column("terms_version")
