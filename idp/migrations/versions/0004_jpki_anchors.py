"""JPKI anchoring: anchors, 4-info history, auth links, consents, card requests.

Revision ID: 0004_jpki_anchors
Revises: 0003_passkeys
Create Date: 2026-11-21
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_jpki_anchors"
down_revision = "0003_passkeys"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _pid(table: str) -> sa.Column[str]:
    return sa.Column("private_id", sa.String(64), sa.ForeignKey(
        "private_ids.id", ondelete="CASCADE", name=f"fk_{table}_private_id_private_ids"),
        nullable=False)


def upgrade() -> None:
    op.create_table(
        "anchors",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False), _pid("anchors"),
        sa.Column("issuer_dn", sa.String(512), nullable=False),
        sa.Column("issuer_key_id", sa.String(128), nullable=False),
        sa.Column("serial_hex", sa.String(64), nullable=False),
        sa.Column("certificate", sa.LargeBinary, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("last_checked_at", TZ, nullable=True),
        sa.Column("last_result", sa.String(128), nullable=True),
        sa.Column("superseded_by", sa.String(64), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_anchors"),
        sa.UniqueConstraint("serial_hex", name="uq_anchors_serial_hex"),
    )
    op.create_index("ix_anchors_private_id", "anchors", ["private_id"])
    op.create_table(
        "basic4_history",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False), _pid("basic4_history"),
        sa.Column("basic4", sa.JSON, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("anchor_serial", sa.String(64), nullable=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("current", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_basic4_history"),
    )
    op.create_index("ix_basic4_history_private_id", "basic4_history", ["private_id"])
    op.create_table(
        "auth_links",
        sa.Column("serial_hex", sa.String(64), nullable=False), _pid("auth_links"),
        sa.Column("issuer_dn", sa.String(512), nullable=True),
        sa.Column("certificate", sa.LargeBinary, nullable=True),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("linked_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("serial_hex", name="pk_auth_links"),
    )
    op.create_index("ix_auth_links_private_id", "auth_links", ["private_id"])
    op.create_table(
        "consents_jpki",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False), _pid("consents_jpki"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_consents_jpki"),
    )
    op.create_index("ix_consents_jpki_private_id", "consents_jpki", ["private_id"])
    op.create_table(
        "card_requests",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("interaction_uid", sa.String(64), nullable=False),
        sa.Column("browser_hash", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("certificate_purpose", sa.String(8), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("consent_text", sa.Text, nullable=True),
        sa.Column("private_id", sa.String(64), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("answered_at", TZ, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_description", sa.Text, nullable=True),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("continued", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_card_requests"),
    )
    op.create_index("ix_card_requests_interaction_uid", "card_requests", ["interaction_uid"])


def downgrade() -> None:
    op.drop_index("ix_card_requests_interaction_uid", table_name="card_requests")
    op.drop_table("card_requests")
    for table in ("consents_jpki", "auth_links", "basic4_history", "anchors"):
        op.drop_index(f"ix_{table}_private_id", table_name=table)
        op.drop_table(table)
