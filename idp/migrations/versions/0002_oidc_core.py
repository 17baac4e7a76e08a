"""OIDC core: private IDs, claims, login sessions, clients, interactions, grants, codes, tokens,
consents, pushed requests, used assertion ids.

Revision ID: 0002_oidc_core
Revises: 0001
Create Date: 2026-11-21
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_oidc_core"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "private_ids",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
    )
    op.create_table(
        "account_claims",
        sa.Column("private_id", sa.String(64), sa.ForeignKey("private_ids.id"), primary_key=True),
        sa.Column("claims", sa.JSON, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "login_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("private_id", sa.String(64), sa.ForeignKey("private_ids.id"), nullable=False,
                  index=True),
        sa.Column("auth_time", sa.Integer, nullable=False),
        sa.Column("acr", sa.String(128), nullable=False),
        sa.Column("amr", sa.JSON, nullable=False),
        sa.Column("expires_at", sa.Integer, nullable=False),
        sa.Column("ended_at", sa.Integer, nullable=True),
    )
    op.create_table(
        "oidc_clients",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("secret_hash", sa.String(128), nullable=True),
        sa.Column("auth_method", sa.String(32), nullable=False),
        sa.Column("redirect_uris", sa.JSON, nullable=False),
        sa.Column("post_logout_redirect_uris", sa.JSON, nullable=False),
        sa.Column("backchannel_logout_uri", sa.String(500), nullable=True),
        sa.Column("jwks", sa.JSON, nullable=True),
        sa.Column("jwks_uri", sa.String(500), nullable=True),
        sa.Column("subject_type", sa.String(16), nullable=False),
        sa.Column("sector_identifier", sa.String(255), nullable=False),
        sa.Column("access_token_format", sa.String(16), nullable=False),
        sa.Column("id_token_alg", sa.String(8), nullable=False),
        sa.Column("default_acr", sa.String(128), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "oidc_interactions",
        sa.Column("uid", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(64), sa.ForeignKey("oidc_clients.client_id"),
                  nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("started_at", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.Integer, nullable=False),
        sa.Column("done", sa.Boolean, nullable=False),
    )
    op.create_table(
        "oidc_grants",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(64), sa.ForeignKey("oidc_clients.client_id"),
                  nullable=False, index=True),
        sa.Column("private_id", sa.String(64), sa.ForeignKey("private_ids.id"), nullable=False,
                  index=True),
        sa.Column("session_id", sa.String(64), nullable=True, index=True),
        sa.Column("scope", sa.String(500), nullable=False),
        sa.Column("claims", sa.JSON, nullable=False),
        sa.Column("nonce", sa.String(255), nullable=True),
        sa.Column("acr", sa.String(128), nullable=True),
        sa.Column("amr", sa.JSON, nullable=False),
        sa.Column("auth_time", sa.Integer, nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Integer, nullable=False),
    )
    op.create_table(
        "oidc_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("grant_id", sa.String(64), sa.ForeignKey("oidc_grants.id"), nullable=False),
        sa.Column("redirect_uri", sa.String(500), nullable=False),
        sa.Column("code_challenge", sa.String(128), nullable=False),
        sa.Column("expires_at", sa.Integer, nullable=False),
        sa.Column("used", sa.Boolean, nullable=False),
    )
    op.create_table(
        "oidc_tokens",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("grant_id", sa.String(64), sa.ForeignKey("oidc_grants.id"), nullable=False,
                  index=True),
        sa.Column("expires_at", sa.Integer, nullable=False),
        sa.Column("issued_at", sa.Integer, nullable=False),
        sa.Column("used", sa.Boolean, nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
    op.create_table(
        "oidc_consents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("private_id", sa.String(64), sa.ForeignKey("private_ids.id"), nullable=False),
        sa.Column("client_id", sa.String(64), sa.ForeignKey("oidc_clients.client_id"),
                  nullable=False),
        sa.Column("claims", sa.JSON, nullable=False),
        sa.Column("given_at", sa.Integer, nullable=False),
        sa.UniqueConstraint("private_id", "client_id",
                            name="uq_oidc_consents_private_id"),
    )
    op.create_table(
        "oidc_par_requests",
        sa.Column("request_uri_hash", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(64), sa.ForeignKey("oidc_clients.client_id"),
                  nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("expires_at", sa.Integer, nullable=False),
        sa.Column("used", sa.Boolean, nullable=False),
    )
    op.create_table(
        "oidc_used_jtis",
        sa.Column("jti", sa.String(255), primary_key=True),
        sa.Column("expires_at", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in ("oidc_used_jtis", "oidc_par_requests", "oidc_consents", "oidc_tokens",
                  "oidc_codes", "oidc_grants", "oidc_interactions", "oidc_clients",
                  "login_sessions", "account_claims", "private_ids"):
        op.drop_table(table)
