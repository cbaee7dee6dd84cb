"""The thread between the secretariat and a pole: messages, requests for complements, answers.

Revision ID: 0005_messages
Revises: 0004_committee
Create Date: 2026-11-30 16:10:00

Written by hand. One table, ``dossier_messages``; the dossier status « correction » needs no change of the
schema (statuses are plain VARCHAR(32) values, no CHECK).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_messages"
down_revision = "0004_committee"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade():
    op.create_table(
        "dossier_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("message", "request", "answer", name="messagekind", native_enum=False,
                                  length=32), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sections", JSON, nullable=False),
        sa.Column("document_types", JSON, nullable=False),
        sa.Column("files", JSON, nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=True),
        sa.Column("answered_at", UTC_DATETIME, nullable=True),
        sa.Column("closed_at", UTC_DATETIME, nullable=True),
        sa.Column("reply_to_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_dossier_messages_author_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossiers.id"],
                                name=op.f("fk_dossier_messages_dossier_id_dossiers"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reply_to_id"], ["dossier_messages.id"],
                                name=op.f("fk_dossier_messages_reply_to_id_dossier_messages"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossier_messages")),
    )
    op.create_index(op.f("ix_dossier_messages_dossier_id"), "dossier_messages", ["dossier_id"])
    op.create_index(op.f("ix_dossier_messages_reply_to_id"), "dossier_messages", ["reply_to_id"])


def downgrade():
    # A dossier waiting for complements goes back to submitted (0002 knows no such status).
    op.execute("UPDATE dossiers SET status = 'submitted' WHERE status = 'correction'")
    op.drop_index(op.f("ix_dossier_messages_reply_to_id"), table_name="dossier_messages")
    op.drop_index(op.f("ix_dossier_messages_dossier_id"), table_name="dossier_messages")
    op.drop_table("dossier_messages")
