"""What ``idp recheck`` reads of each certificate without parsing it: the anchor's notAfter,
and the auth certificate's issuing CA (key id) and notAfter, filled from the stored
certificates; the covering index it reads a million anchors through; the record of its runs.

Revision ID: 0012_anchor_validity
Revises: 0011_card_request_document
Create Date: 2026-12-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from cryptography import x509

revision = "0012_anchor_validity"
down_revision = "0011_card_request_document"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("anchors") as table:
        table.add_column(sa.Column("not_after", sa.Integer, nullable=True))
    with op.batch_alter_table("auth_links") as table:
        table.add_column(sa.Column("issuer_key_id", sa.String(128), nullable=True))
        table.add_column(sa.Column("not_after", sa.Integer, nullable=True))
    op.create_index("ix_anchors_recheck", "anchors", ["superseded_by", "issuer_key_id", "state",
                                                      "last_result", "not_after", "serial_hex"])
    op.create_table(
        "recheck_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked", sa.Integer, nullable=False),
        sa.Column("changed", sa.Integer, nullable=False),
    )
    op.create_index("ix_recheck_runs_started_at", "recheck_runs", ["started_at"])
    connection = op.get_bind()
    anchors = sa.table("anchors", sa.column("id"), sa.column("certificate"),
                       sa.column("not_after"))
    for row_id, der in connection.execute(sa.select(anchors.c.id, anchors.c.certificate)).all():
        expires = int(x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp())
        connection.execute(anchors.update().where(anchors.c.id == row_id)
                           .values(not_after=expires))
    links = sa.table("auth_links", sa.column("serial_hex"), sa.column("certificate"),
                     sa.column("issuer_key_id"), sa.column("not_after"))
    for serial, der in connection.execute(sa.select(links.c.serial_hex, links.c.certificate)
                                          .where(links.c.certificate.is_not(None))).all():
        certificate = x509.load_der_x509_certificate(der)
        connection.execute(links.update().where(links.c.serial_hex == serial).values(
            issuer_key_id=_authority_key_id(certificate),
            not_after=int(certificate.not_valid_after_utc.timestamp())))


def _authority_key_id(certificate: x509.Certificate) -> str | None:
    try:
        found = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    except x509.ExtensionNotFound:
        return None
    return found.value.key_identifier.hex() if found.value.key_identifier else None


def downgrade() -> None:
    op.drop_index("ix_recheck_runs_started_at", "recheck_runs")
    op.drop_table("recheck_runs")
    op.drop_index("ix_anchors_recheck", "anchors")
    with op.batch_alter_table("auth_links") as table:
        table.drop_column("not_after")
        table.drop_column("issuer_key_id")
    with op.batch_alter_table("anchors") as table:
        table.drop_column("not_after")
