"""Decisions keep their payment tranches and the reason of a correction.

Revision ID: 0003_decisions
Revises: 0002
Create Date: 2026-11-30 16:10:00

Written by hand. ``decisions.payment_schedule`` lists the tranches of a staged payment
(``[{"date": "AAAA-MM-JJ", "amount_eur": "1234.00"}]``, empty otherwise); ``decisions.correction_reason``
says why a decision superseded the previous one (empty for a first decision). Both are added nullable,
filled, then made NOT NULL (no server default is left behind).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_decisions"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade():
    with op.batch_alter_table("decisions") as batch_op:
        batch_op.add_column(sa.Column("payment_schedule", JSON, nullable=True))
        batch_op.add_column(sa.Column("correction_reason", sa.Text(), nullable=True))
    op.get_bind().execute(sa.text("UPDATE decisions SET payment_schedule = :empty, correction_reason = ''"),
                          {"empty": "[]"})
    with op.batch_alter_table("decisions") as batch_op:
        batch_op.alter_column("payment_schedule", existing_type=JSON, nullable=False)
        batch_op.alter_column("correction_reason", existing_type=sa.Text(), nullable=False)


def downgrade():
    with op.batch_alter_table("decisions") as batch_op:
        batch_op.drop_column("correction_reason")
        batch_op.drop_column("payment_schedule")
