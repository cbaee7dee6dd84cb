"""Committee sessions keep their agenda (dossiers in discussion order) and when their minutes were made.

Revision ID: 0004_committee
Revises: 0003_decisions
Create Date: 2026-11-30 16:20:00

Written by hand. ``committee_sessions.agenda`` lists the ids of the dossiers in discussion order (``[]`` for
the sessions already there); ``committee_sessions.minutes_requested_at`` and ``minutes_generated_at`` say when
the procès-verbal was asked for and when the job made the one stored under ``minutes_key`` (empty until then).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_committee"
down_revision = "0003_decisions"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade():
    with op.batch_alter_table("committee_sessions") as batch_op:
        batch_op.add_column(sa.Column("agenda", JSON, nullable=True))
        batch_op.add_column(sa.Column("minutes_requested_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("minutes_generated_at", sa.DateTime(timezone=True), nullable=True))
    op.get_bind().execute(sa.text("UPDATE committee_sessions SET agenda = :empty"), {"empty": "[]"})
    with op.batch_alter_table("committee_sessions") as batch_op:
        batch_op.alter_column("agenda", existing_type=JSON, nullable=False)


def downgrade():
    with op.batch_alter_table("committee_sessions") as batch_op:
        batch_op.drop_column("minutes_generated_at")
        batch_op.drop_column("minutes_requested_at")
        batch_op.drop_column("agenda")
