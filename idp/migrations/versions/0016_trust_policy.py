"""The trust policy as data: versions (who, when, why, the whole document, a diff) and the CA
certificates they name (idp.trustpolicy).

Revision ID: 0016_trust_policy
Revises: 0013_shared_signals
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_trust_policy"
down_revision = "0015_administrators"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trust_policy_versions",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("diff", sa.JSON, nullable=False),
        sa.Column("rollback_of", sa.Integer, nullable=True),
    )
    op.create_table(
        "trust_ca_certificates",
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("der", sa.LargeBinary, nullable=False),
        sa.Column("added_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("trust_ca_certificates")
    op.drop_table("trust_policy_versions")
