"""The metering counters: validity checks per month, relying party, kind and method, and the
certificates checked by CRL each month (idp.metering).

Revision ID: 0018_metering
Revises: 0013_shared_signals
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_metering"
down_revision = "0017_audit_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metering_checks",
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("client_id", sa.String(255), primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("method", sa.String(8), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_table(
        "metering_crl_certificates",
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("client_id", sa.String(255), primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("certificate", sa.String(128), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("metering_crl_certificates")
    op.drop_table("metering_checks")
