"""Card requests of purpose ``sign`` carry the document the person signs (issue 12, signing).

Revision ID: 0011_card_request_document
Revises: 0010_interaction_login_session
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_card_request_document"
down_revision = "0010_interaction_login_session"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("card_requests") as batch:
        batch.add_column(sa.Column("document", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("card_requests") as batch:
        batch.drop_column("document")
