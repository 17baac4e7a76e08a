"""Shared Signals transmitter: streams, removed subjects, and the events outbox (idp.events).

Revision ID: 0013_shared_signals
Revises: 0012_anchor_validity
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_shared_signals"
down_revision = "0012_anchor_validity"
branch_labels = None
depends_on = None

_STREAM = "ssf_streams.stream_id"


def upgrade() -> None:
    op.create_table(
        "ssf_streams",
        sa.Column("stream_id", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(64), sa.ForeignKey("oidc_clients.client_id"),
                  nullable=False, unique=True),
        sa.Column("events_requested", sa.JSON, nullable=True),
        sa.Column("events_delivered", sa.JSON, nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("endpoint_url", sa.String(500), nullable=True),
        sa.Column("authorization_header", sa.String(1000), nullable=True),
        sa.Column("description", sa.String(500), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("verified_at", sa.Float, nullable=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("next_push_at", sa.Float, nullable=False),
        sa.Column("created_at", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.Integer, nullable=False),
    )
    op.create_table(
        "ssf_removed_subjects",
        sa.Column("stream_id", sa.String(64), sa.ForeignKey(_STREAM, ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("sub", sa.String(255), primary_key=True),
    )
    op.create_table(
        "ssf_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("stream_id", sa.String(64), sa.ForeignKey(_STREAM, ondelete="CASCADE"),
                  nullable=False),
        sa.Column("private_id", sa.String(64), nullable=True),
        sa.Column("jti", sa.String(64), nullable=False),
        sa.Column("txn", sa.String(64), nullable=False),
        sa.Column("sub", sa.String(255), nullable=True),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("created_at", sa.Integer, nullable=False),
        sa.Column("finished_at", sa.Integer, nullable=True),
    )
    op.create_index("ix_ssf_events_stream_state", "ssf_events", ["stream_id", "state", "id"])


def downgrade() -> None:
    op.drop_index("ix_ssf_events_stream_state", "ssf_events")
    op.drop_table("ssf_events")
    op.drop_table("ssf_removed_subjects")
    op.drop_table("ssf_streams")
