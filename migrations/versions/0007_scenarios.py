"""Saved scenarios of the selection simulator.

Revision ID: 0007_scenarios
Revises: 0006_letters
Create Date: 2026-11-30 16:30:00

Written by hand. ``selection_scenarios`` keeps a simulator run under a name (unique in its call): its
parameters, its result as it was, the score it ranked by (``raw`` / ``calibrated``), who saved it and when.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007_scenarios"
down_revision = "0006_letters"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade():
    op.create_table(
        "selection_scenarios",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("result", JSON, nullable=False),
        sa.Column("score_kind", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("score_kind IN ('raw', 'calibrated')",
                           name=op.f("ck_selection_scenarios_score_kind_known")),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_selection_scenarios_call_id_calls"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_selection_scenarios_created_by_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selection_scenarios")),
        sa.UniqueConstraint("call_id", "name", name=op.f("uq_selection_scenarios_call_id_name")),
    )
    op.create_index(op.f("ix_selection_scenarios_call_id"), "selection_scenarios", ["call_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_selection_scenarios_call_id"), table_name="selection_scenarios")
    op.drop_table("selection_scenarios")
